# syntax=docker/dockerfile:1
# The Courtyard image: one package, every service (`courtyard migrate|ingest|rules|api|simulate`).
#
#   docker build -t courtyard:local .
#
# Stage `build` turns the source into wheels: Courtyard's own and its dependencies'. The runtime
# stage installs exactly those, offline, into a slim image without compilers or the source tree,
# and runs as an unprivileged account. tests/deploy/test_dockerfile.py checks this file.

# Pinned to a patch release; bump it deliberately (and rebuild for security fixes).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# .dockerignore keeps tests, secrets and local state out of the context.
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="courtyard" \
      org.opencontainers.image.description="Smart-community IoT data platform: MQTT ingestion, time-series store, maintenance and care alerts" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    COURTYARD_HTTP_HOST=0.0.0.0 \
    COURTYARD_HTTP_PORT=8000
# A fixed, numeric uid/gid, so that orchestrators can verify "not root" without a passwd file.
RUN groupadd --system --gid 10001 courtyard \
    && useradd --system --uid 10001 --gid courtyard --home-dir /home/courtyard \
       --create-home --shell /usr/sbin/nologin courtyard
# Only the wheels built above, no index: the image holds what was built and nothing else.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels courtyard
USER 10001:10001
# No .env here: settings come from the environment (docker-compose.yml, deploy/courtyard.env).
WORKDIR /home/courtyard
EXPOSE 8000
# The default command is the API; docker-compose.yml gives the other services their own checks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['COURTYARD_HTTP_PORT'], timeout=4)"
ENTRYPOINT ["courtyard"]
CMD ["api"]
