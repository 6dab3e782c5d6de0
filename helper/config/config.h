/* config.h - /etc/okta-jit/okta-jit.conf: loading and validation. */
#ifndef OJIT_CONFIG_H
#define OJIT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define OJIT_DEFAULT_CONFIG "/etc/okta-jit/okta-jit.conf"
#define OJIT_DEFAULT_SOCKET "/run/okta-jit/okta-jitd.sock"
/* [daemon] pam_socket's default: this name in the directory of socket. */
#define OJIT_PAM_SOCKET_NAME "pam.sock"
#define OJIT_DEFAULT_PAM_SOCKET "/run/okta-jit/" OJIT_PAM_SOCKET_NAME
#define OJIT_DEFAULT_LEDGER "/var/lib/okta-jit/ledger.db"
/* [nss] defaults. The UID range is the one systemd's UIDS-GIDS.md leaves
 * unused (above the container ranges, below 2^31, where signed uid_t
 * bugs live). */
#define OJIT_DEFAULT_NSS_CACHE "/var/cache/okta-jit/nss.cache"
/* [web] defaults (issue 19): okta-jitd's socket for the web service, and
 * how old a sign-in (an ID token's iat) may be. */
#define OJIT_DEFAULT_WEB_SOCKET "/run/okta-jit/web.sock"
#define OJIT_DEFAULT_WEB_SESSION_MAX 3600
#define OJIT_WEB_SESSION_MAX_MAX (24 * 3600)
#define OJIT_WEB_GROUP "okta-jit-web"
#define OJIT_DEFAULT_WEB_SESSION_IDLE 900
#define OJIT_DEFAULT_WEB_MAX_SESSIONS 4096
#define OJIT_DEFAULT_WEB_LISTEN_HOST "127.0.0.1"
#define OJIT_DEFAULT_WEB_LISTEN_PORT 8080
#define OJIT_DEFAULT_NSS_UID_MIN 1879048192
#define OJIT_DEFAULT_NSS_UID_MAX 2147483646
#define OJIT_NSS_ATTR_MAX 64
#define CONFIG_ACCESS_DETAILS_MAX 400
#define CONFIG_NAME_MAX 64
#define CONFIG_MAX_FLOWS 256
#define CONFIG_MAX_LIST 64

enum dpop_mode { DPOP_AUTO, DPOP_ON, DPOP_OFF };
enum approval_rule { APPROVAL_AUTO, APPROVAL_OWNERS, APPROVAL_OWNER };
enum on_expiry { ON_EXPIRY_KEEP, ON_EXPIRY_TERMINATE };
/* [flow] ssh_keys (issue 18): when `okta-jit keys` prints a requester's
 * keys: only during an active grant of the flow's groups, or to every
 * requester of the flow (the PAM gate then refuses with the request hint). */
enum flow_keys { FLOW_KEYS_GRANT, FLOW_KEYS_REQUESTERS };

struct flow_config {
	char *name;
	char **groups; /* Okta group names this flow grants */
	size_t ngroups;
	char **requesters; /* Okta group names whose members may request */
	size_t nrequesters;
	int64_t default_duration;
	int64_t max_duration;
	enum approval_rule approval;
	int reason_required;
	int standing_allow; /* standing = allow: a non-JIT member passes */
	/* standing = group:NAME, user:LOGIN, ... (issue 20): the declared
	 * standing members. They pass checks without a grant and are never
	 * drift. Okta group names; Okta logins. */
	char **standing_groups;
	size_t nstanding_groups;
	char **standing_users;
	size_t nstanding_users;
	int standing_line;   /* 0: standing not given */
	/* drift = report (0, the default) | remove (1): what the sweep does
	 * with a member of the flow's groups that has neither a grant nor a
	 * standing place (daemon/drift.c) */
	int drift_remove;
	int drift_line;
	enum on_expiry on_expiry;
	int64_t warn_before; /* seconds before the end to warn sessions */
	enum flow_keys ssh_keys;
	int line;            /* line of the [flow NAME] header */
};

/* [notify NAME]: a webhook target (notify.c). */
#define CONFIG_MAX_NOTIFY 16
enum notify_event {
	NOTIFY_REQUESTED = 1 << 0,
	NOTIFY_APPROVED = 1 << 1,
	NOTIFY_DENIED = 1 << 2,
	NOTIFY_GRANTED = 1 << 3,
	NOTIFY_EXPIRING = 1 << 4,
	NOTIFY_EXPIRED = 1 << 5,
	NOTIFY_REVOKED = 1 << 6,
	NOTIFY_FAILED = 1 << 7,
	NOTIFY_BREAKGLASS = 1 << 8,
	NOTIFY_DRIFT = 1 << 9, /* issue 20: a member Okta gained outside okta-jit */
	NOTIFY_ALL = (1 << 10) - 1,
};
struct notify_config {
	char *name;
	char *url;         /* https:// */
	char *secret_file; /* root-only; first line = the HMAC secret */
	char *ca_file;     /* the CAs to trust for url instead of the system's */
	unsigned events;   /* enum notify_event bits */
	int slack;         /* format = slack */
	int64_t expiring_before;
	int64_t max_age;
	int line;
};
/* The bit of an event name, or 0. */
unsigned config_notify_event(const char *name);

struct ojit_config {
	char *path;
	/* [okta] */
	char *org_url; /* normalised: no trailing slash */
	char *client_id;
	char *private_key;      /* a key spec (issue 21): /path, tpm2:..., pkcs11:..., credential:NAME */
	char *key_id;
	char *next_private_key; /* the key being rotated in (okta-jit key rotate) */
	char *next_key_id;
	int next_private_key_line, next_key_id_line;
	char *tpm2_tcti;        /* the TPM for tpm2: keys (TPM2OPENSSL_TCTI); NULL: the provider's default */
	int64_t key_max_age;    /* doctor warns about an older key (seconds) */
	char *ca_file;
	int64_t timeout; /* seconds, total per HTTP request */
	enum dpop_mode dpop;
	/* [integration] */
	char *name;
	char *access_details;
	char *owner; /* "group:NAME" or "user:LOGIN" */
	/* [users] */
	char *login_format;
	/* [daemon] */
	char *socket;               /* the public socket (0666): the CLI, every local user */
	char *pam_socket;           /* the PAM module's (0600, root only) */
	char *ledger;               /* sqlite:/path, /path or postgresql://... */
	char *ledger_password_file; /* the PostgreSQL password, root-only */
	int role_gate;              /* role = gate: answers checks only, no manage key */
	int64_t cache_ttl;
	int64_t outage_grace;
	int64_t pending_ttl;
	int64_t recheck_after;      /* a removal made again after an add of unknown outcome */
	int64_t refresh_timeout;    /* how long a stale answer serves while its refresh runs (issue 20) */
	/* revoke_on (issue 20): the Okta user statuses that end a user's
	 * grants at once (bits of config_user_status_bit; a deleted user's
	 * always end). Default SUSPENDED, DEPROVISIONED, LOCKED_OUT. */
	unsigned revoke_on;
	int revoke_on_set;
	char **snapshot_groups;     /* standing groups the gates check that no flow names */
	size_t nsnapshot_groups;
	int snapshot_groups_line;
	/* metrics (issue 22): the textfile for node_exporter, NULL: none */
	char *metrics_file;
	int64_t metrics_interval;   /* seconds between writes, 1..3600 (15) */
	char *fleet_signing_key;    /* a granter's Ed25519 private key: signs grants and snapshots */
	int fleet_signing_key_line;
	char **fleet_verify_keys;   /* a gate's Ed25519 public keys (several while rotating) */
	size_t nfleet_verify_keys;
	int fleet_verify_keys_line;
	/* [nss] (issue 18): Okta users, JIT groups and SSH keys on this host
	 * through libnss_okta_jit.so.2 and `okta-jit keys` */
	int nss_enabled;
	int nss_line;                /* the first [nss] key's line */
	char *nss_uid_attribute;     /* Okta profile attribute holding the UID; NULL: derived */
	int64_t nss_uid_min, nss_uid_max; /* uid_range: derived and listed UIDs, derived GIDs */
	char *nss_gecos_attribute;   /* NULL: none */
	char *nss_keys_attribute;    /* NULL: no SSH keys from Okta */
	int nss_key_options_allowed; /* key_options = allow */
	char *nss_home;              /* template, %u = the local name */
	char *nss_shell;
	char **nss_groups;           /* gated groups that appear as local groups */
	size_t nnss_groups;
	int nss_groups_line;
	char *nss_group_name;        /* template, %g = the Okta group name */
	int nss_enumerate;
	char *nss_keys_user;         /* sshd's AuthorizedKeysCommandUser */
	char *nss_cache;             /* the file okta-jitd writes for the module */
	/* [web] (issue 19): the web service (okta-jit-web) and okta-jitd's
	 * side of it. okta-jitd uses client_id (the aud of the ID tokens it
	 * accepts), session_max and socket; the others are the web
	 * service's. */
	int web_enabled;             /* [web] client_id given: okta-jitd opens web_socket */
	int web_line;                /* the first [web] key's line */
	char *web_client_id;         /* the Okta Web app's client id */
	int64_t web_session_max;     /* seconds: an ID token's iat at most this old */
	char *web_socket;            /* 0660, group okta-jit-web: requests carry T_ID_TOKEN */
	char *web_url;               /* https:// address of the web pages */
	char *web_listen;            /* host:port the web service listens on */
	char *web_client_secret_file;
	char *web_private_key;       /* private_key_jwt instead of a secret */
	char *web_tls_cert;
	char *web_tls_key;
	char *web_trusted_proxy;     /* an IP: X-Forwarded-* honoured only from it */
	int64_t web_session_idle;    /* the web service's idle sign-out (default 15m) */
	int64_t web_max_sessions;    /* the web service's session table (default 4096) */
	int web_url_line, web_listen_line, web_tls_line; /* for the web service's checks */
	/* [flow NAME] */
	struct flow_config *flows;
	size_t nflows;
	/* [notify NAME] */
	struct notify_config notify[CONFIG_MAX_NOTIFY];
	size_t nnotify;
};

/* Load and validate path. On failure returns -1 and appends one line per
 * problem ("FILE:LINE: [section] key: what is wrong") to errors. */
int config_load(const char *path, struct ojit_config **out, struct ojit_buf *errors);
void config_free(struct ojit_config *cfg);

/* Validators shared with the tests. Each returns 0 or -1 with *why set. */
int config_check_org_url(const char *url, const char **why);
/* Is spec a key spec ([okta] private_key, next_private_key): an absolute
 * path, tpm2:handle:0x81XXXXXX, tpm2:/path, pkcs11:URI or
 * credential:NAME? 0, or -1 with a message (naming spec) in why. */
#define CONFIG_KEY_SPEC_MAX 1024
/* okta-jit key rotate: rewrite cfg's file so that next_private_key and
 * next_key_id become private_key and key_id (the next_* lines go, a
 * comment records the old key), atomically, keeping mode and owner. */
int config_rotate_keys(const struct ojit_config *cfg, char *err, size_t n);
int config_check_key_spec(const char *spec, char *why, size_t n);
int config_check_name(const char *name, const char **why);
int config_check_login_format(const char *fmt, const char **why);

/* Map a local user name to an Okta login with login_format ("%u" is the
 * user, "%%" a percent sign). Returns -1 if it does not fit. */
int config_map_login(const struct ojit_config *cfg, const char *user, char *out, size_t n);

/* The local name of Okta login under login_format (its reverse), or -1
 * when the login does not have the format's shape. The name is not yet
 * checked as a local user name. */
int config_unmap_login(const struct ojit_config *cfg, const char *login, char *out, size_t n);
/* [nss] group_name for Okta group grp, or -1 when it does not fit. */
int config_nss_group_name(const struct ojit_config *cfg, const char *grp, char *out, size_t n);
/* [nss] home for local name user, or -1 when it does not fit. */
int config_nss_home(const struct ojit_config *cfg, const char *user, char *out, size_t n);

/* The bit of an Okta user status (UserStatus: ACTIVE, DEPROVISIONED,
 * LOCKED_OUT, PASSWORD_EXPIRED, PROVISIONED, RECOVERY, STAGED, SUSPENDED)
 * for [daemon] revoke_on, or 0 for any other text. */
unsigned config_user_status_bit(const char *status);
#define CONFIG_REVOKE_ON_DEFAULT "SUSPENDED, DEPROVISIONED, LOCKED_OUT"

/* The flow that covers an Okta group name, or NULL. */
const struct flow_config *config_flow_for_group(const struct ojit_config *cfg, const char *group);
/* The staleness bound in seconds, cache_ttl + refresh_timeout: no plain
 * allow rests on an answer of Okta's older than this (issue 20). A gate's
 * snapshot: the smaller of it and 2 x cache_ttl (the rule before). */
int64_t config_stale_bound(const struct ojit_config *cfg);
int64_t config_snapshot_fresh(const struct ojit_config *cfg);

/* [web] (config_web.c): the checks okta-jitd's config_load and the web
 * service share, so that both accept the same [web] section. */
/* 1 when host is a loopback address (127.0.0.0/8, ::1) or "localhost". */
int config_web_is_loopback(const char *host);
/* url: https://HOST[:PORT] (one trailing '/' tolerated), no user info,
 * path, query or fragment; http:// only for a loopback HOST (a test on
 * this host). 0, or -1 with *why set. */
int config_check_web_url(const char *url, const char **why);
/* listen: HOST:PORT or [V6ADDR]:PORT. 0, or -1. host gets at most n - 1. */
int config_web_listen_split(const char *listen, char *host, size_t n, int *port);
/* The rules between [web] keys (TLS both or neither; plain HTTP only on
 * loopback; an http:// url only without TLS); with need_url (the web
 * service) url is required too. Appends "FILE:LINE: [web] KEY: why"
 * lines to errors; returns how many. Nothing to check without [web]. */
int config_web_check(const struct ojit_config *cfg, int need_url, struct ojit_buf *errors);

const char *config_dpop_name(enum dpop_mode m);
const char *config_approval_name(enum approval_rule a);

#endif
