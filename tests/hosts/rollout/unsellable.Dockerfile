# A release that starts and passes its health checks but cannot sell: no cart line may hold a
# single unit. Only a purchase through the load balancer (the pipeline's smoke test) catches it.
ARG RELEASE_IMAGE
FROM ${RELEASE_IMAGE}
ENV MAX_LINE_QUANTITY=0
