// The text a reader sees on the page and hears from a screen reader (labels, titles,
// placeholders), leaving out what is data rather than interface: identifiers (.ident),
// code, digests, the signed-in user's name, and scripts.
() => {
  const skip = "script, style, noscript, code, pre, .ident, .digest, .navbar-text, [hidden], [aria-hidden=true]";
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (parent.closest("details:not([open])") && !parent.closest("summary")) continue;
    parts.push(node.textContent);
  }
  for (const element of document.body.querySelectorAll("[aria-label], [title], [placeholder], img[alt]")) {
    if (element.closest(skip)) continue;
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      if (element.hasAttribute(name)) parts.push(element.getAttribute(name));
    }
  }
  return parts.join(" ");
}
