#!/bin/sh
# The nginx image's entrypoint step for templates (20-envsubst-on-templates.sh), reduced to
# what runs for a template dir without stream templates, written out for this benchmark:
# every defined variable name goes into one SHELL-FORMAT list (so nginx's own $host stays),
# then one `envsubst` process per template file.
#   NGINX_ENVSUBST_TEMPLATE_DIR=... NGINX_ENVSUBST_OUTPUT_DIR=... sh nginx-envsubst.sh
set -e
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

names=$(awk "END { for (n in ENVIRON) { print ( n ~ /${filter}/ ) ? n : \"\" } }" < /dev/null)
# shellcheck disable=SC2086 # one word per name, on purpose
defined_envs=$(printf '${%s} ' $names)
[ -d "$template_dir" ] || exit 0
[ -w "$output_dir" ] || { echo "$0: $output_dir is not writable"; exit 0; }
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
  relative="${template#"$template_dir/"}"
  out="$output_dir/${relative%"$suffix"}"
  mkdir -p "$output_dir/$(dirname "$relative")"
  echo "$0: Running envsubst on $template to $out"
  envsubst "$defined_envs" < "$template" > "$out"
done
# The image then looks for stream templates: one more find, as there.
test -z "$(find "$template_dir" -name "*.stream-template" -print -quit)"
