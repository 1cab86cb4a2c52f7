#!/usr/bin/env bash
# Rebuild app/static/vendor/properties-panel.min.js (committed; scripts/install.sh does not run this).
# bpmn-js-properties-panel and @bpmn-io/properties-panel ship no browser bundle exposing the entry components
# a provider of our own needs (and their ES modules import CodeMirror, Lezer, FEEL... by bare names), so the
# pieces are bundled once with esbuild, a devDependency of app/static/package.json:
#   npm ci --prefix app/static && scripts/build_static.sh
set -euo pipefail
cd "$(dirname "$0")/../app/static"
node_modules/.bin/esbuild src/properties-panel.js --bundle --minify --format=iife \
  --global-name=CeppPropertiesPanel --legal-comments=eof --outfile=vendor/properties-panel.min.js
