#!/bin/sh
# The do-it-yourself gate admins write today, for pam_exec:
#   account required pam_exec.so quiet /path/diy_okta_check.sh ORG CLIENT_ID KEY KID CA GROUP
# On every login: sign a private_key_jwt client assertion with openssl, get
# an access token with curl, look the user's groups up, pass if GROUP is one.
set -eu
org=$1 client=$2 key=$3 kid=$4 ca=$5 group=$6
user=${PAM_USER:?}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
jti=$(openssl rand -hex 16)
hdr=$(printf '{"alg":"RS256","typ":"JWT","kid":"%s"}' "$kid" | b64url)
body=$(printf '{"iss":"%s","sub":"%s","aud":"%s/oauth2/v1/token","iat":%s,"exp":%s,"jti":"%s"}' \
	"$client" "$client" "$org" "$now" "$((now + 300))" "$jti" | b64url)
sig=$(printf '%s.%s' "$hdr" "$body" | openssl dgst -sha256 -sign "$key" -binary | b64url)
token=$(curl -sf --cacert "$ca" -X POST "$org/oauth2/v1/token" \
	-H 'Accept: application/json' \
	--data-urlencode grant_type=client_credentials \
	--data-urlencode scope=okta.users.read \
	--data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
	--data-urlencode "client_assertion=$hdr.$body.$sig" |
	sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || exit 1
curl -sf --cacert "$ca" -H "Authorization: Bearer $token" -H 'Accept: application/json' \
	"$org/api/v1/users/$user%40example.com/groups" | grep -Eq "\"name\": ?\"$group\"" && exit 0
exit 1
