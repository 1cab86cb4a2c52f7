# The platform as one image: web (gunicorn) and rq workers, started by scripts/serve.sh.
# docker compose up (compose.yaml) runs it with PostgreSQL and Redis; README, "Production".

# bpmn-js for the in-browser diagram editor and the case page's diagram
FROM node:20-slim AS js
WORKDIR /src/app/static
COPY app/static/package.json app/static/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHON=python
# pg_dump / pg_restore for `flask backup` and `flask restore` (same major version as the server)
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 cepp
WORKDIR /srv/cepp
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install .
COPY . .
COPY --from=js /src/app/static/node_modules ./app/static/node_modules
# the certificate font, built once into instance/fonts at image build time (~45 s)
RUN python -c "from app.certificates.fonts import build_fonts; build_fonts()" \
    && mkdir -p /data/jobs instance/metrics && chown -R cepp /data instance
USER cepp
ENV BIND=0.0.0.0:8000 JOBS_DIR=/data/jobs PROMETHEUS_MULTIPROC_DIR=/srv/cepp/instance/metrics
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["./scripts/serve.sh"]
