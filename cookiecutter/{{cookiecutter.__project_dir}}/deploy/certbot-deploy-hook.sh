#!/bin/sh
# certbot runs this after it renews a certificate; `make provision` installs it as
# /etc/letsencrypt/renewal-hooks/deploy/{{ cookiecutter.project_slug }}.sh. The web server reads
# certificates only when it starts or reloads, so reload it gracefully (no request is
# dropped), and only after its configuration checks out, so a broken file elsewhere
# never takes the site down.
set -eu

case " ${RENEWED_DOMAINS:-{{ cookiecutter.domain }}} " in
*" {{ cookiecutter.domain }} "*) ;;
*) exit 0 ;; # another site's certificate
esac

{{ cookiecutter.__web_server_config_test }}
systemctl reload {{ cookiecutter.__web_server_service }}
