# Parley: one image for every role; the role is the command.
#
#   ws      daphne ... app.config.asgi:application       (the default CMD below)
#   web     gunicorn app.config.wsgi:application --bind 0.0.0.0:8000 ...
#   worker  python manage.py runworker chat.persist
#   release python manage.py migrate --noinput
#
# The Helm chart (helm/parley) sets each role's command; `docker run IMAGE CMD...`
# does the same. Configuration arrives only through the environment (DATABASE_URL,
# REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, ...). The root filesystem may be read-only:
# nothing is written outside /tmp at run time.
#
# Build (any registry):    docker build -t parley .
# Build (offline base):    scripts/docker-engine.sh up, then
#                          docker build --network host --build-arg BASE_IMAGE=parley-base:bookworm -t parley .
#
# The base may be the official python image (python3 and python) or a debootstrap
# bookworm (python3 only): every step uses `python3 -m venv`, then the venv's python.

# checkov:skip=CKV_DOCKER_7:FROM takes ${BASE_IMAGE}, whose default is the versioned tag python:3.12-slim-bookworm (pin a digest with --build-arg BASE_IMAGE=python:3.12-slim-bookworm@sha256:...)
ARG BASE_IMAGE=python:3.12-slim-bookworm

# ---------------------------------------------------------------- builder
FROM ${BASE_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app

# The locked dependencies (requirements/base.txt, every version pinned), with
# --require-hashes as soon as the lock carries hashes. pip still resolves, so a
# dependency that the lock's Python did not need but this base's does (redis-py's
# async-timeout below Python 3.11.3, as in Debian bookworm's 3.11.2) is added
# rather than missing; `pip check` proves the result is complete.
COPY requirements/base.txt requirements/base.txt
RUN python3 -m venv /opt/venv \
    && if grep -q -- '--hash=' requirements/base.txt; \
       then /opt/venv/bin/python -m pip install --require-hashes -r requirements/base.txt; \
       else /opt/venv/bin/python -m pip install -r requirements/base.txt; fi \
    && /opt/venv/bin/python -m pip check

COPY manage.py ./
COPY app ./app

# Hashed, compressed static files (whitenoise's manifest storage) and bytecode, so
# that nothing has to be written at run time. The SECRET_KEY here is a placeholder
# that exists only in this RUN step's environment: it is not an ENV or ARG, so it
# is in no layer, no image config and no history of the final image. Production
# settings refuse to start without REDIS_URL unless told the process runs alone,
# which this build step does (it connects to nothing).
RUN SECRET_KEY=collectstatic-placeholder-not-a-secret \
    PARLEY_SINGLE_PROCESS=true \
    DJANGO_SETTINGS_MODULE=app.config.settings.production \
    /opt/venv/bin/python manage.py collectstatic --noinput -v0 \
    && /opt/venv/bin/python -m compileall -q app

# ---------------------------------------------------------------- runtime
FROM ${BASE_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="Parley" \
      org.opencontainers.image.description="Real-time chat on Django Channels: ws (daphne), web (gunicorn), worker and release roles in one image" \
      org.opencontainers.image.url="https://github.com/parley-chat/parley" \
      org.opencontainers.image.source="https://github.com/parley-chat/parley" \
      org.opencontainers.image.documentation="https://github.com/parley-chat/parley#deploy" \
      org.opencontainers.image.vendor="Parley maintainers" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

# The venv comes first on PATH: `python`, `daphne` and `gunicorn` in the chart's
# commands are the venv's, whatever the base calls its interpreter. HOME is /tmp,
# the one writable place under a read-only root (gunicorn puts its control socket
# in $HOME/.gunicorn), whatever user the platform runs the image as.
ENV PATH="/opt/venv/bin:${PATH}" \
    HOME=/tmp \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=app.config.settings.production \
    PORT=8000

# The same numeric user and group as the chart's securityContext (10001:10001).
# It owns nothing in the image: code, venv and static files stay read-only to it.
RUN groupadd --gid 10001 parley \
    && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init \
       --home-dir /nonexistent --shell /usr/sbin/nologin parley

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

USER 10001:10001
EXPOSE 8000

# Liveness of whichever HTTP role runs: /healthz on $PORT (ws, web); for a worker
# (nothing on $PORT), its Prometheus endpoint on $METRICS_PORT when that is set.
# Python's urllib, as the slim and debootstrap bases have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r\nports = [(os.environ.get('PORT', '8000'), 'healthz'), (os.environ.get('METRICS_PORT'), 'metrics')]\nfor port, path in ports:\n    if not port:\n        continue\n    try:\n        with r.urlopen(r.Request(f'http://127.0.0.1:{port}/{path}', headers={'Host': 'localhost'}), timeout=4) as response:\n            sys.exit(0 if response.status == 200 else 1)\n    except OSError:\n        pass\nsys.exit(1)"]

# The ws role (the Procfile's web line on port 8000): daphne's command line with
# bounded sockets (app/ops/interface_server), in exec form: it is PID 1 and
# receives SIGTERM itself, then closes its sockets and exits 0.
CMD ["python", "-m", "app.ops.interface_server", \
     "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", \
     "--ping-interval", "20", "--ping-timeout", "30", \
     "--websocket-max-message-size", "65536", \
     "--application-close-timeout", "10", "app.config.asgi:application"]
