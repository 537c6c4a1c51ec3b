// The layout guard's checks, run in the page by tests/e2e/test_layout_guard.py.
// Returns a list of problems, each {check, where, detail}; an empty list is a clean page.
() => {
  const problems = [];
  const add = (check, el, detail) => problems.push({ check, where: describe(el), detail });

  function describe(el) {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    if (el.getAttribute && el.getAttribute("name")) name += `[name=${el.getAttribute("name")}]`;
    if (typeof el.className === "string" && el.className.trim()) {
      name += "." + el.className.trim().split(/\s+/).slice(0, 3).join(".");
    }
    const text = (el.innerText || el.value || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return text ? `${name} "${text}"` : name;
  }
  function shown(el) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.opacity !== "0";
  }
  function scrolls(el) {
    const overflow = getComputedStyle(el).overflowX;
    return overflow === "auto" || overflow === "scroll" || overflow === "hidden" || overflow === "clip";
  }

  // 1. No form control (or label) overlaps another.
  const controls = [
    ...document.querySelectorAll(
      "main input:not([type=hidden]), main select, main textarea, main button, main .btn, main label"
    ),
  ].filter(shown);
  const boxes = controls.map((el) => el.getBoundingClientRect());
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      const a = controls[i], b = controls[j];
      if (a.contains(b) || b.contains(a)) continue;
      if (a.control === b || b.control === a) continue; // a label beside its own control
      const x = Math.min(boxes[i].right, boxes[j].right) - Math.max(boxes[i].left, boxes[j].left);
      const y = Math.min(boxes[i].bottom, boxes[j].bottom) - Math.max(boxes[i].top, boxes[j].top);
      if (x > 2 && y > 2) add("overlap", a, `overlaps ${describe(b)} by ${Math.round(x)}×${Math.round(y)} px`);
    }
  }

  // 2. Nothing overflows its box unless that box scrolls; the page itself never scrolls sideways.
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    add("overflow", document.documentElement,
      `the page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
  }
  for (const el of document.querySelectorAll("main *, header *")) {
    if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth === 0) continue;
    if (scrolls(el) || !shown(el)) continue;
    if (["TABLE", "TBODY", "THEAD", "TR", "svg", "SELECT", "INPUT", "TEXTAREA"].includes(el.tagName)) continue;
    add("overflow", el, `content ${el.scrollWidth} px wide in a ${el.clientWidth} px box that does not scroll`);
  }

  // 3. Headers, badges, buttons, labels and links of the navigation never break inside a word.
  const words = /\S+/g;
  for (const el of document.querySelectorAll("th, .badge, .btn, button, label, .nav-link, h1, h2, h3")) {
    if (!shown(el)) continue;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(words)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) add("word-break", el, `"${match[0]}" is broken over ${lines.size} lines`);
      }
    }
  }
  return problems;
}
