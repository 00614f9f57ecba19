# Tidtam service image. Build: docker build -t tidtam .   Run: docker run -p 8000:8000 --env-file .env tidtam
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TIDTAM_HOST=0.0.0.0 \
    TIDTAM_PORT=8000

RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-thai-tlwg libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tidtam

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY scheduler ./scheduler
COPY models ./models
COPY messages ./messages
COPY dashboard ./dashboard
COPY evaluation ./evaluation
COPY migrations ./migrations
COPY tidtam ./tidtam
RUN pip install .

USER tidtam
WORKDIR /home/tidtam
VOLUME ["/home/tidtam/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
CMD ["tidtam", "serve"]
