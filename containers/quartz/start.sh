#!/bin/sh
set -eu
: "${DOCS_RELEASE_URL:?DOCS_RELEASE_URL must be set}"
wget -qO /tmp/docs.tar.gz "$DOCS_RELEASE_URL"
tar -xzf /tmp/docs.tar.gz -C /usr/share/nginx/html
exec nginx -g 'daemon off;'
