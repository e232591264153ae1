#!/bin/sh
# The least a shell can do for a template dir: one `envsubst` process per file, nothing
# else (no find, no awk; the SHELL-FORMAT list of defined names comes precomputed in
# BENCH_ENVSUBST_NAMES, so nginx's own $host stays, as in the nginx image's script).
#   BENCH_TEMPLATE_DIR=... BENCH_OUTPUT_DIR=... BENCH_ENVSUBST_NAMES='${A} ${B}' sh bare-envsubst.sh
for template in "$BENCH_TEMPLATE_DIR"/*.template; do
  name="${template##*/}"
  envsubst "$BENCH_ENVSUBST_NAMES" < "$template" > "$BENCH_OUTPUT_DIR/${name%.template}"
done
