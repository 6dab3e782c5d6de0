/* okta_key.c - the connector key wherever it lives (okta_key.h).
 *
 * A provider key (TPM, PKCS#11) is opened for each signature in a private
 * OSSL_LIB_CTX holding "default" and that one provider, and closed again:
 * - libcurl's TLS keeps to the default library context, so the TPM never
 *   does TLS digests or randomness for it;
 * - a TPM that went away and came back is simply used again, with no
 *   stale connection to repair (signatures are rare: one a token, hourly);
 * - a TPM reached without a resource manager (swtpm, a bare /dev/tpm0)
 *   serves one connection at a time: holding one open would block
 *   `okta-jit doctor` and `key rotate` while okta-jitd runs. */
#include "okta_key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "jwt.h"
#include "keyfile.h"
#include "util.h"

#define TSS2_PEM_HEADER "-----BEGIN TSS2 PRIVATE KEY-----"

struct okta_key {
	enum okta_key_kind kind;
	char spec[OKTA_KEY_SPEC_MAX];
	char uri[OKTA_KEY_SPEC_MAX + 8]; /* what OSSL_STORE opens (provider keys) */
	const char *provider;            /* "tpm2", "pkcs11" or NULL */
	char propq[32];                  /* "?provider=NAME": sign with the provider's key */
	char tcti[256];
	EVP_PKEY *priv;                  /* file and credential keys only */
	EVP_PKEY *pub;                   /* the public half, default provider */
	unsigned char *pub_der;          /* SubjectPublicKeyInfo, to recognise the key again */
	int pub_der_len;
	int exportable;
	int64_t created;
	int file_mode;
	long file_uid;
	char last_error[2048];           /* under prov_lock */
};

/* One provider use at a time in this process (see the top of the file). */
static pthread_mutex_t prov_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "no reason given";
}

int okta_key_spec_check(const char *spec, char *err, size_t errlen)
{
	return config_check_key_spec(spec, err, errlen);
}

/* Keep the public half in the default provider, and its DER to know the
 * key again at each provider signature. */
static int set_public(struct okta_key *k, EVP_PKEY *from, char *err, size_t errlen)
{
	const unsigned char *p;
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(from, &der);

	if (len <= 0) {
		snprintf(err, errlen, "%s: cannot read the public half of the key: %s", k->spec, ossl_reason());
		return -1;
	}
	p = der;
	k->pub = d2i_PUBKEY(NULL, &p, len);
	if (k->pub == NULL) {
		OPENSSL_free(der);
		snprintf(err, errlen, "%s: cannot read the public half of the key: %s", k->spec, ossl_reason());
		return -1;
	}
	k->pub_der = der;
	k->pub_der_len = len;
	return keyfile_check_type(k->pub, k->spec, err, errlen);
}

/* Does the provider hand out the private half? A TPM or an HSM does not:
 * that is the point of keeping the key there. */
static int private_readable(EVP_PKEY *pkey)
{
	BIGNUM *bn = NULL;
	int yes = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1 ||
		  EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1;

	BN_clear_free(bn);
	ERR_clear_error();
	return yes;
}

static int provider_installed(const char *name)
{
	char path[1024];
	const char *dir = getenv("OPENSSL_MODULES");

	if (dir == NULL || dir[0] == '\0')
		dir = OPENSSL_info(OPENSSL_INFO_MODULES_DIR);
	if (dir == NULL || snprintf(path, sizeof(path), "%s/%s.so", dir, name) >= (int)sizeof(path))
		return 0;
	return access(path, R_OK) == 0;
}

struct prov_session {
	OSSL_LIB_CTX *ctx;
	OSSL_PROVIDER *def, *prov;
	EVP_PKEY *pkey;
};

static void prov_close(struct prov_session *s)
{
	EVP_PKEY_free(s->pkey);
	if (s->prov != NULL)
		OSSL_PROVIDER_unload(s->prov);
	if (s->def != NULL)
		OSSL_PROVIDER_unload(s->def);
	OSSL_LIB_CTX_free(s->ctx);
	memset(s, 0, sizeof(*s));
}

/* Open k's provider and load its key there. Caller holds prov_lock. */
static int prov_open(struct okta_key *k, struct prov_session *s, char *err, size_t errlen)
{
	OSSL_STORE_CTX *st = NULL;
	int r = -1;

	memset(s, 0, sizeof(*s));
	ERR_clear_error();
	/* The tpm2 provider reads its TPM from the environment when it
	 * starts; set once, at start-up (single-threaded), never changed. */
	if (k->kind == OKTA_KEY_TPM2 && k->tcti[0] != '\0') {
		const char *cur = getenv("TPM2OPENSSL_TCTI");

		if (cur == NULL || strcmp(cur, k->tcti) != 0)
			setenv("TPM2OPENSSL_TCTI", k->tcti, 1);
	}
	/* libtss2 writes lines of its own to stderr (the journal) at every
	 * failed try while a TPM is away; okta-jitd says it once, in words.
	 * An admin who wants them sets TSS2_LOG. */
	if (k->kind == OKTA_KEY_TPM2 && getenv("TSS2_LOG") == NULL)
		setenv("TSS2_LOG", "all+none", 0);
	s->ctx = OSSL_LIB_CTX_new();
	if (s->ctx == NULL) {
		snprintf(err, errlen, "%s: out of memory", k->spec);
		goto out;
	}
	s->def = OSSL_PROVIDER_load(s->ctx, "default");
	if (s->def == NULL) {
		snprintf(err, errlen, "%s: cannot load OpenSSL's default provider: %s", k->spec, ossl_reason());
		goto out;
	}
	s->prov = OSSL_PROVIDER_load(s->ctx, k->provider);
	if (s->prov == NULL) {
		if (k->kind == OKTA_KEY_PKCS11 && !provider_installed("pkcs11"))
			snprintf(err, errlen,
				 "%s: no PKCS#11 provider installed (OpenSSL 3 finds no 'pkcs11' provider in %s): "
				 "install pkcs11-provider, or keep the key in a TPM (tpm2:) or a file",
				 k->spec, OPENSSL_info(OPENSSL_INFO_MODULES_DIR));
		else if (k->kind == OKTA_KEY_TPM2 && !provider_installed("tpm2"))
			snprintf(err, errlen,
				 "%s: the OpenSSL tpm2 provider is not installed (no tpm2.so in %s): "
				 "apt-get install tpm2-openssl (dnf install tpm2-openssl)",
				 k->spec, OPENSSL_info(OPENSSL_INFO_MODULES_DIR));
		else
			snprintf(err, errlen, "%s: the %s provider did not start (%s)%s", k->spec, k->provider,
				 ossl_reason(),
				 k->kind == OKTA_KEY_TPM2 ? ": is the TPM there? (ls /dev/tpmrm0; [okta] tpm2_tcti)" : "");
		goto out;
	}
	st = OSSL_STORE_open_ex(k->uri, s->ctx, k->propq, UI_null(), NULL, NULL, NULL, NULL);
	if (st == NULL) {
		snprintf(err, errlen, "%s: the %s provider cannot open it: %s", k->spec, k->provider, ossl_reason());
		goto out;
	}
	if (OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY) != 1) {
		snprintf(err, errlen, "%s: cannot ask the store for a private key: %s", k->spec, ossl_reason());
		goto out;
	}
	while (s->pkey == NULL && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);

		if (info == NULL) {
			if (OSSL_STORE_error(st))
				break;
			continue;
		}
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			s->pkey = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (s->pkey == NULL) {
		if (k->kind == OKTA_KEY_TPM2)
			snprintf(err, errlen, "%s names no key in the TPM (%s)%s", k->spec, ossl_reason(),
				 strstr(k->uri, "handle:") == k->uri
				     ? ": list the persistent keys with tpm2_getcap handles-persistent"
				     : ": the key file was made for another TPM, or is not a TPM key");
		else
			snprintf(err, errlen, "%s names no private key the %s provider can use (%s): check the "
				 "token and object in the URI (p11tool --list-all, pkcs11-tool -O)", k->spec,
				 k->provider, ossl_reason());
		goto out;
	}
	r = 0;
out:
	OSSL_STORE_close(st);
	if (r != 0)
		prov_close(s);
	ERR_clear_error();
	return r;
}

/* A TSS2 key file: the first line says so. The file rules are those of a
 * key file (root's, mode 0600): the blob works on this host's TPM for
 * whoever can read it. */
static int sniff_tss2(const char *path, int *tss2, char *err, size_t errlen)
{
	char head[sizeof(TSS2_PEM_HEADER)];
	ssize_t n;
	int fd, r = -1;

	*tss2 = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link; name the file itself", path);
		else
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (keyfile_check_mode(fd, path, err, errlen) != 0)
		goto out;
	n = read(fd, head, sizeof(head) - 1);
	if (n < 0) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	head[n] = '\0';
	*tss2 = strcmp(head, TSS2_PEM_HEADER) == 0;
	r = 0;
out:
	close(fd);
	return r;
}

static void note_file(struct okta_key *k, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		k->created = (int64_t)st.st_mtime;
		k->file_mode = (int)(st.st_mode & 07777);
		k->file_uid = (long)st.st_uid;
	}
}

static int open_provider_key(struct okta_key *k, char *err, size_t errlen)
{
	struct prov_session s;
	int r;

	snprintf(k->propq, sizeof(k->propq), "?provider=%s", k->provider);
	pthread_mutex_lock(&prov_lock);
	r = prov_open(k, &s, err, errlen);
	if (r == 0) {
		r = set_public(k, s.pkey, err, errlen);
		k->exportable = private_readable(s.pkey);
	}
	prov_close(&s);
	pthread_mutex_unlock(&prov_lock);
	return r;
}

int okta_key_open(const char *spec, const char *tcti, struct okta_key **out, char *err, size_t errlen)
{
	struct okta_key *k;
	char why[512];
	int tss2 = 0, r = -1;

	*out = NULL;
	if (config_check_key_spec(spec, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	k->file_mode = -1;
	k->file_uid = -1;
	ojit_strlcpy(k->spec, spec, sizeof(k->spec));
	if (tcti != NULL)
		ojit_strlcpy(k->tcti, tcti, sizeof(k->tcti));
	if (spec[0] == '/') {
		if (sniff_tss2(spec, &tss2, err, errlen) != 0)
			goto out;
		note_file(k, spec);
		if (tss2) {
			k->kind = OKTA_KEY_TPM2;
			ojit_strlcpy(k->uri, spec, sizeof(k->uri));
		} else {
			k->kind = OKTA_KEY_FILE;
			if (keyfile_load(spec, &k->priv, err, errlen) != 0)
				goto out;
		}
	} else if (strncmp(spec, "tpm2:", 5) == 0) {
		k->kind = OKTA_KEY_TPM2;
		ojit_strlcpy(k->uri, spec + 5, sizeof(k->uri));
		if (k->uri[0] == '/') {
			if (sniff_tss2(k->uri, &tss2, err, errlen) != 0)
				goto out;
			if (!tss2) {
				snprintf(err, errlen, "%s: not a TPM key file (no %s line); a PEM key file is named by its "
					 "path alone", k->uri, TSS2_PEM_HEADER);
				goto out;
			}
			note_file(k, k->uri);
		}
	} else if (strncmp(spec, "pkcs11:", 7) == 0) {
		k->kind = OKTA_KEY_PKCS11;
		ojit_strlcpy(k->uri, spec, sizeof(k->uri));
	} else {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");
		char path[4096];

		k->kind = OKTA_KEY_CREDENTIAL;
		if (dir == NULL || dir[0] != '/') {
			snprintf(err, errlen,
				 "%s: okta-jitd was started without systemd credentials ($CREDENTIALS_DIRECTORY is not "
				 "set): add LoadCredentialEncrypted=%s:/etc/credstore.encrypted/%s to the unit "
				 "(docs/packaging.md)", spec, spec + 11, spec + 11);
			goto out;
		}
		if (snprintf(path, sizeof(path), "%s/%s", dir, spec + 11) >= (int)sizeof(path)) {
			snprintf(err, errlen, "%s: $CREDENTIALS_DIRECTORY is too long", spec);
			goto out;
		}
		if (access(path, F_OK) != 0) {
			snprintf(err, errlen,
				 "%s: the unit passes no credential '%s' (%s: %s): add LoadCredentialEncrypted=%s:"
				 "/etc/credstore.encrypted/%s to the unit; a credential that cannot be decrypted keeps the "
				 "unit from starting (journalctl -u okta-jitd)", spec, spec + 11, path, strerror(errno),
				 spec + 11, spec + 11);
			goto out;
		}
		if (keyfile_load(path, &k->priv, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s (encrypt a PEM private key: systemd-creds encrypt --name=%s "
				 "key.pem /etc/credstore.encrypted/%s)", spec, why, spec + 11, spec + 11);
			goto out;
		}
	}
	if (k->priv != NULL) {
		if (set_public(k, k->priv, err, errlen) != 0)
			goto out;
		k->exportable = 1;
	} else {
		k->provider = k->kind == OKTA_KEY_TPM2 ? "tpm2" : "pkcs11";
		if (open_provider_key(k, err, errlen) != 0)
			goto out;
	}
	*out = k;
	k = NULL;
	r = 0;
out:
	okta_key_free(k);
	return r;
}

/* Encrypted keys would need a passphrase at every start: refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int okta_key_from_pem(const char *spec, const unsigned char *pem, size_t len, struct okta_key **out, char *err,
		      size_t errlen)
{
	struct okta_key *k = NULL;
	BIO *bio = NULL;
	int r = -1;

	*out = NULL;
	if (strncmp(spec, "credential:", 11) != 0 || len > INT_MAX) {
		snprintf(err, errlen, "%s: not a credential", spec);
		return -1;
	}
	k = calloc(1, sizeof(*k));
	bio = BIO_new_mem_buf(pem, (int)len);
	if (k == NULL || bio == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	k->kind = OKTA_KEY_CREDENTIAL;
	k->file_mode = -1;
	k->file_uid = -1;
	ojit_strlcpy(k->spec, spec, sizeof(k->spec));
	k->priv = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (k->priv == NULL) {
		snprintf(err, errlen, "%s: the credential holds no unencrypted PEM private key", spec);
		goto out;
	}
	if (set_public(k, k->priv, err, errlen) != 0)
		goto out;
	k->exportable = 1;
	*out = k;
	k = NULL;
	r = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	okta_key_free(k);
	return r;
}

void okta_key_free(struct okta_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->priv);
	EVP_PKEY_free(k->pub);
	OPENSSL_free(k->pub_der);
	free(k);
}

enum okta_key_kind okta_key_kind(const struct okta_key *k)
{
	return k->kind;
}

const char *okta_key_spec(const struct okta_key *k)
{
	return k->spec;
}

EVP_PKEY *okta_key_public(const struct okta_key *k)
{
	return k->pub;
}

const char *okta_key_alg(const struct okta_key *k)
{
	return jwt_alg_for_key(k->pub);
}

int okta_key_exportable(const struct okta_key *k)
{
	return k->exportable;
}

int64_t okta_key_created(const struct okta_key *k)
{
	return k->created;
}

void okta_key_file_mode(const struct okta_key *k, int *mode, long *uid)
{
	*mode = k->file_mode;
	*uid = k->file_uid;
}

void okta_key_describe(const struct okta_key *k, char *out, size_t n)
{
	const char *type = EVP_PKEY_is_a(k->pub, "RSA") ? "RSA" : "EC P-256";

	switch (k->kind) {
	case OKTA_KEY_FILE:
		snprintf(out, n, "a %s key in the file %s (in okta-jitd's memory: it can be copied)", type, k->spec);
		break;
	case OKTA_KEY_CREDENTIAL:
		snprintf(out, n, "a %s key from the systemd credential %s (decrypted by systemd at start; in "
			 "okta-jitd's memory: it can be copied)", type, k->spec + 11);
		break;
	case OKTA_KEY_TPM2:
		if (strncmp(k->uri, "handle:", 7) == 0)
			snprintf(out, n, "a %s key in the TPM at persistent handle %s (tpm2 provider; %s)", type,
				 k->uri + 7, k->exportable ? "the provider exports it" : "it cannot be exported");
		else
			snprintf(out, n, "a %s key in the TPM, loaded from the key file %s (tpm2 provider; %s)", type,
				 k->uri, k->exportable ? "the provider exports it" : "it cannot be exported");
		break;
	case OKTA_KEY_PKCS11:
		snprintf(out, n, "a %s key in a PKCS#11 token, %s (pkcs11 provider; %s)", type, k->spec,
			 k->exportable ? "the provider exports it" : "it cannot be exported");
		break;
	}
}

void okta_key_last_error(struct okta_key *k, char *out, size_t n)
{
	pthread_mutex_lock(&prov_lock);
	ojit_strlcpy(out, k->last_error[0] ? k->last_error : "no error", n);
	pthread_mutex_unlock(&prov_lock);
}

static int digest_sign(EVP_PKEY *pkey, OSSL_LIB_CTX *ctx, const char *propq, const unsigned char *data,
		       size_t len, unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -1;

	*sig = NULL;
	*siglen = 0;
	if (md == NULL || EVP_DigestSignInit_ex(md, NULL, "SHA256", ctx, propq, pkey, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, siglen, data, len) != 1)
		goto out;
	*sig = malloc(*siglen);
	if (*sig == NULL || EVP_DigestSign(md, *sig, siglen, data, len) != 1)
		goto out;
	r = 0;
out:
	if (r != 0) {
		free(*sig);
		*sig = NULL;
	}
	EVP_MD_CTX_free(md);
	return r;
}

int okta_key_sign(void *key, const unsigned char *data, size_t len, unsigned char **sig, size_t *siglen)
{
	struct okta_key *k = key;
	struct prov_session s;
	unsigned char *der = NULL;
	char err[512];
	int dlen, r = -1;

	if (k->priv != NULL) {
		r = digest_sign(k->priv, NULL, NULL, data, len, sig, siglen);
		if (r != 0)
			error_f("cannot sign with %s: %s", k->spec, ossl_reason());
		ERR_clear_error();
		return r;
	}
	pthread_mutex_lock(&prov_lock);
	if (prov_open(k, &s, err, sizeof(err)) != 0) {
		ojit_strlcpy(k->last_error, err, sizeof(k->last_error));
		goto out;
	}
	/* The handle or file must still hold the key Okta knows: a key made
	 * again at the same handle would sign assertions Okta refuses. */
	dlen = i2d_PUBKEY(s.pkey, &der);
	if (dlen != k->pub_der_len || memcmp(der, k->pub_der, (size_t)dlen) != 0) {
		snprintf(k->last_error, sizeof(k->last_error),
			 "%s now holds another key than at start: restart okta-jitd after changing it", k->spec);
		goto out;
	}
	if (digest_sign(s.pkey, s.ctx, k->propq, data, len, sig, siglen) != 0) {
		snprintf(k->last_error, sizeof(k->last_error), "%s: the %s provider cannot sign: %s", k->spec,
			 k->provider, ossl_reason());
		goto out;
	}
	k->last_error[0] = '\0';
	r = 0;
out:
	OPENSSL_free(der);
	prov_close(&s);
	/* Not logged here: a TPM that is away fails every try, and the token
	 * code says so once (okta_key_last_error gives the reason). */
	ERR_clear_error();
	pthread_mutex_unlock(&prov_lock);
	return r;
}

/* Write pkey to a new file at path, mode 0600 (never over an existing
 * file: a key new must not destroy the key in use). */
static int write_new_key(const char *path, EVP_PKEY *pkey, OSSL_LIB_CTX *ctx, const char *propq, char *err,
			 size_t errlen)
{
	BIO *bio = NULL;
	int fd, r = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (key new never overwrites a key; choose another --out)" : "");
		return -1;
	}
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (bio == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (PEM_write_bio_PrivateKey_ex(bio, pkey, NULL, NULL, 0, NULL, NULL, ctx, propq) != 1 ||
	    BIO_flush(bio) != 1) {
		snprintf(err, errlen, "%s: cannot write the key: %s", path, ossl_reason());
		goto out;
	}
	r = 0;
out:
	BIO_free(bio);
	if (r != 0)
		unlink(path);
	return r;
}

int okta_key_generate(const char *path, int tpm, const char *tcti, EVP_PKEY **pub, char *err, size_t errlen)
{
	struct okta_key k;
	struct prov_session s;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = -1;

	memset(&k, 0, sizeof(k));
	memset(&s, 0, sizeof(s));
	*pub = NULL;
	if (path[0] != '/') {
		snprintf(err, errlen, "%s: give an absolute path", path);
		return -1;
	}
	ojit_strlcpy(k.spec, path, sizeof(k.spec));
	if (!tpm) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (pkey == NULL) {
			snprintf(err, errlen, "cannot make an EC P-256 key: %s", ossl_reason());
			goto out;
		}
		if (write_new_key(path, pkey, NULL, NULL, err, errlen) != 0)
			goto out;
	} else {
		pthread_mutex_lock(&prov_lock);
		k.kind = OKTA_KEY_TPM2;
		k.provider = "tpm2";
		if (tcti != NULL)
			ojit_strlcpy(k.tcti, tcti, sizeof(k.tcti));
		if (tcti != NULL && tcti[0] != '\0')
			setenv("TPM2OPENSSL_TCTI", tcti, 1);
		s.ctx = OSSL_LIB_CTX_new();
		if (s.ctx != NULL)
			s.def = OSSL_PROVIDER_load(s.ctx, "default");
		if (s.def != NULL)
			s.prov = OSSL_PROVIDER_load(s.ctx, "tpm2");
		if (s.prov == NULL) {
			snprintf(err, errlen, "cannot load the tpm2 provider (%s): %s", ossl_reason(),
				 provider_installed("tpm2") ? "is the TPM there? (ls /dev/tpmrm0; [okta] tpm2_tcti)"
							    : "apt-get install tpm2-openssl");
			pthread_mutex_unlock(&prov_lock);
			goto out;
		}
		pctx = EVP_PKEY_CTX_new_from_name(s.ctx, "EC", "provider=tpm2");
		if (pctx == NULL || EVP_PKEY_keygen_init(pctx) != 1 || EVP_PKEY_CTX_set_group_name(pctx, "P-256") != 1 ||
		    EVP_PKEY_generate(pctx, &pkey) != 1) {
			snprintf(err, errlen, "the TPM cannot make an EC P-256 key: %s", ossl_reason());
			pthread_mutex_unlock(&prov_lock);
			goto out;
		}
		r = write_new_key(path, pkey, s.ctx, "?provider=tpm2", err, errlen);
		pthread_mutex_unlock(&prov_lock);
		if (r != 0)
			goto out;
		r = -1;
	}
	if (set_public(&k, pkey, err, errlen) != 0)
		goto out;
	*pub = k.pub;
	k.pub = NULL;
	r = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(k.pub);
	OPENSSL_free(k.pub_der);
	if (s.ctx != NULL) {
		s.pkey = NULL;
		prov_close(&s);
	}
	ERR_clear_error();
	return r;
}
