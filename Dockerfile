# The shop's image: the locked runtime dependencies and the `shop` package on Debian's python3.
# BASE_IMAGE is a debootstrap Debian image with python3 (pipelines/build_image.py builds it).
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS build
# The building machine's CA bundle (a TLS-inspecting proxy re-signs PyPI); this stage only.
COPY build-ca/ca-certificates.crt /usr/local/share/build-ca/ca-certificates.crt
ENV SSL_CERT_FILE=/usr/local/share/build-ca/ca-certificates.crt \
    PIP_CERT=/usr/local/share/build-ca/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
RUN python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --quiet uv==0.13.9 \
 && /opt/uv/bin/uv venv --python /usr/bin/python3 /opt/shop
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Exactly the locked runtime dependencies, with their hashes; none of the tools' groups.
RUN /opt/uv/bin/uv export --frozen --no-default-groups --no-emit-project -o requirements.txt \
 && /opt/uv/bin/uv pip install --python /opt/shop/bin/python --require-hashes --no-deps \
      -r requirements.txt
COPY app/ app/
RUN /opt/uv/bin/uv pip install --python /opt/shop/bin/python --no-deps .

FROM ${BASE_IMAGE}
# No compiler, no pip, no uv here: only Debian's python3 and the virtualenv built above.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin shop
COPY --from=build /opt/shop /opt/shop
ARG SHOP_RELEASE=dev
ARG SHOP_VERSION=0.0.0
ARG GIT_SHA=unknown
ENV PATH=/opt/shop/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000 \
    SHOP_RELEASE=${SHOP_RELEASE}
LABEL org.opencontainers.image.title="shop" \
      org.opencontainers.image.description="The shopstack shop: Flask under gunicorn" \
      org.opencontainers.image.version="${SHOP_VERSION}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.shopstack.release="${SHOP_RELEASE}"
# Numeric, so a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# The liveness the hosts' nginx and the load balancer also ask for; python, as there is no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/healthz', timeout=4)"]
CMD ["gunicorn", "--config", "python:shop.gunicorn_conf", "shop:create_app()"]
