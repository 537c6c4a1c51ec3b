FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Sentence embeddings for better categories: docker build --build-arg EMBEDDINGS=true .
# (README: image sizes). torch comes from PyTorch's CPU index, pinned as in pyproject.toml:
# PyPI's x86_64 torch wheel bundles CUDA, gigabytes that a CPU-only worker never uses.
ARG EMBEDDINGS=false
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY pyproject.toml ./
COPY config ./config
COPY core ./core
COPY feedback ./feedback
COPY triage ./triage
COPY dashboards ./dashboards
COPY lifecycle ./lifecycle
RUN if [ "$EMBEDDINGS" = true ]; then \
      pip install --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION" \
      && pip install ".[embeddings]"; \
    else \
      pip install .; \
    fi
COPY . .
RUN DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=build \
    DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --noinput
RUN useradd --create-home voc && mkdir -p /data && chown voc /data
USER voc
ENV VOC_DATA_DIR=/data VOC_MEDIA_ROOT=/data/media HF_HUB_OFFLINE=1
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
