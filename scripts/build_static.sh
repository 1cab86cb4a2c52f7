#!/usr/bin/env bash
# Rebuild app/static/vendor/properties-panel.min.js (committed; scripts/install.sh does not run this).
# bpmn-js-properties-panel and @bpmn-io/properties-panel ship no browser bundle exposing the entry components
# a provider of our own needs (and their ES modules import CodeMirror, Lezer, FEEL... by bare names), so the
# pieces are bundled once with esbuild, a devDependency of app/static/package.json:
#   npm ci --prefix app/static && scripts/build_static.sh
set -euo pipefail
cd "$(dirname "$0")/../app/static"
version() { node -p "require('./node_modules/$1/package.json').version"; }
banner="/* bpmn-js-properties-panel $(version bpmn-js-properties-panel) and @bpmn-io/properties-panel \
$(version @bpmn-io/properties-panel) (MIT, Camunda Services GmbH / bpmn.io) with their dependencies; \
built by scripts/build_static.sh from src/properties-panel.js */"
node_modules/.bin/esbuild src/properties-panel.js --bundle --minify --format=iife \
  --global-name=CeppPropertiesPanel --legal-comments=eof --banner:js="$banner" \
  --outfile=vendor/properties-panel.min.js
