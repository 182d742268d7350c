# The triage-bot image: `docker build -t triage-bot:0.1.0 .` (the tag the manifests run:
# manifests/base/kustomization.yaml `images:`; README "Install" for the push).
# Runs as UID 10001 with a read-only root filesystem (manifests/base/deployment.yaml):
# state goes to TRIAGE_BOT_DATA_DIR (a volume), matplotlib's cache to /tmp.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    TRIAGE_BOT_DATA_DIR=/var/lib/triage-bot
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin triage-bot \
    && mkdir -p /var/lib/triage-bot \
    && chown 10001:10001 /var/lib/triage-bot
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/triage-bot"]
ENTRYPOINT ["triage-bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
