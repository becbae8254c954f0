# A release that builds and migrates but whose web server cannot start: what a bad dependency
# bump or a typo in the server's settings looks like at deploy time.
ARG RELEASE_IMAGE
FROM ${RELEASE_IMAGE}
USER 0
RUN printf '#!/bin/sh\necho "this release cannot start its web server" >&2\nexit 3\n' \
      > /opt/shop/bin/gunicorn
USER 10001:10001
