/* pam_driver - run PAM steps against a stack in a private folder.
 *
 *   pam_driver CONFDIR SERVICE USER STEP... [--answer TEXT]... [--rhost H] [--tty T] [--ruser U]
 *
 * Loads CONFDIR/SERVICE with pam_start_confdir (never /etc/pam.d). Steps:
 *   auth   pam_authenticate      acct   pam_acct_mgmt
 *   open   pam_open_session      close  pam_close_session
 *   cycles N   N times: pam_start_confdir, pam_acct_mgmt, pam_end; then
 *              prints the last result and "fdcount before=B after=A".
 *   timed N    N times: pam_start_confdir, pam_acct_mgmt, pam_end; prints
 *              "TIMED <k> <PAM_NAME> <microseconds>" for each pam_acct_mgmt.
 *   fdcount    prints "FDCOUNT n" (open fds of this process).
 *   wait       prints "WAITING" and reads one line from stdin (a test
 *              looks at the ledger between two steps).
 * The conversation prints every message ("INFO: ...", "ERROR: ...") and
 * answers prompts ("PROMPT: ...") from the --answer list in order (an
 * empty answer once the list is used up). Each step prints
 *   STEP <name> = <number> <PAM_NAME> (<pam_strerror>)
 * Exits 0 unless the arguments are wrong or pam_start fails (2). */
#include <dirent.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ANSWERS 32

struct answers {
	const char *v[MAX_ANSWERS];
	int n, next;
	int quiet; /* during cycles: messages are counted, not printed */
	long messages;
};

static const char *code_name(int r)
{
	switch (r) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_OPEN_ERR: return "PAM_OPEN_ERR";
	case PAM_SYMBOL_ERR: return "PAM_SYMBOL_ERR";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_CRED_INSUFFICIENT: return "PAM_CRED_INSUFFICIENT";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_MAXTRIES: return "PAM_MAXTRIES";
	case PAM_NEW_AUTHTOK_REQD: return "PAM_NEW_AUTHTOK_REQD";
	case PAM_ACCT_EXPIRED: return "PAM_ACCT_EXPIRED";
	case PAM_SESSION_ERR: return "PAM_SESSION_ERR";
	case PAM_CRED_UNAVAIL: return "PAM_CRED_UNAVAIL";
	case PAM_CRED_EXPIRED: return "PAM_CRED_EXPIRED";
	case PAM_CRED_ERR: return "PAM_CRED_ERR";
	case PAM_NO_MODULE_DATA: return "PAM_NO_MODULE_DATA";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_AUTHTOK_ERR: return "PAM_AUTHTOK_ERR";
	case PAM_ABORT: return "PAM_ABORT";
	case PAM_IGNORE: return "PAM_IGNORE";
	case PAM_MODULE_UNKNOWN: return "PAM_MODULE_UNKNOWN";
	default: return "PAM_OTHER";
	}
}

/* Print text with each line prefixed, so multi-line messages stay greppable. */
static void print_msg(const char *prefix, const char *text)
{
	const char *p = text ? text : "";

	printf("%s: ", prefix);
	for (; *p; p++) {
		if (*p == '\n')
			printf("\n%s+ ", prefix);
		else
			putchar(*p);
	}
	putchar('\n');
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct answers *a = data;
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		a->messages++;
		if (a->quiet && (msg[i]->msg_style == PAM_TEXT_INFO || msg[i]->msg_style == PAM_ERROR_MSG))
			continue;
		switch (msg[i]->msg_style) {
		case PAM_TEXT_INFO:
			print_msg("INFO", msg[i]->msg);
			break;
		case PAM_ERROR_MSG:
			print_msg("ERROR", msg[i]->msg);
			break;
		case PAM_PROMPT_ECHO_ON:
		case PAM_PROMPT_ECHO_OFF: {
			const char *ans = a->next < a->n ? a->v[a->next++] : "";

			print_msg("PROMPT", msg[i]->msg);
			r[i].resp = strdup(ans);
			if (r[i].resp == NULL) {
				int j;

				for (j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_BUF_ERR;
			}
			break;
		}
		default:
			print_msg("OTHER", msg[i]->msg);
			break;
		}
	}
	fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void report(const char *step, int r, pam_handle_t *h)
{
	printf("STEP %s = %d %s (%s)\n", step, r, code_name(r), pam_strerror(h, r));
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: pam_driver CONFDIR SERVICE USER STEP... [--answer TEXT]... "
			"[--rhost HOST] [--tty TTY] [--ruser USER] [--env NAME=VALUE]...\n"
			"steps: auth acct open close fdcount 'cycles N' 'timed N'\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct answers ans;
	struct pam_conv pc;
	pam_handle_t *h = NULL;
	const char *confdir, *service, *user, *rhost = NULL, *tty = NULL, *ruser = NULL;
	int i, r;

	if (argc < 5)
		return usage();
	confdir = argv[1];
	service = argv[2];
	user = argv[3];
	memset(&ans, 0, sizeof(ans));
	/* First pass: options. */
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--env") == 0) {
			if (i + 1 >= argc)
				return usage();
			i++;
		} else if (strcmp(argv[i], "--answer") == 0 || strcmp(argv[i], "--rhost") == 0 ||
		    strcmp(argv[i], "--tty") == 0 || strcmp(argv[i], "--ruser") == 0) {
			if (i + 1 >= argc)
				return usage();
			if (strcmp(argv[i], "--ruser") == 0) {
				ruser = argv[i + 1]; /* as sudo and su set it: the invoking user */
			} else if (argv[i][2] == 'a') {
				if (ans.n >= MAX_ANSWERS)
					return usage();
				ans.v[ans.n++] = argv[i + 1];
			} else if (argv[i][2] == 'r') {
				rhost = argv[i + 1];
			} else {
				tty = argv[i + 1];
			}
			i++;
		}
	}
	pc.conv = conv;
	pc.appdata_ptr = &ans;
	r = pam_start_confdir(service, user, &pc, confdir, &h);
	if (r != PAM_SUCCESS) {
		printf("STEP start = %d %s\n", r, code_name(r));
		return 2;
	}
	if (rhost != NULL)
		pam_set_item(h, PAM_RHOST, rhost);
	if (tty != NULL)
		pam_set_item(h, PAM_TTY, tty);
	if (ruser != NULL)
		pam_set_item(h, PAM_RUSER, ruser);
	/* PAM environment set before the modules run, as a stack where the
	 * user controls it (pam_env with user_readenv, say) would. */
	for (i = 4; i + 1 < argc; i++)
		if (strcmp(argv[i], "--env") == 0 && pam_putenv(h, argv[++i]) != PAM_SUCCESS) {
			printf("STEP env = failed\n");
			return 2;
		}
	for (i = 4; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--answer") == 0 || strcmp(s, "--rhost") == 0 || strcmp(s, "--tty") == 0 ||
		    strcmp(s, "--ruser") == 0 || strcmp(s, "--env") == 0) {
			i++;
		} else if (strcmp(s, "auth") == 0) {
			report("auth", pam_authenticate(h, 0), h);
		} else if (strcmp(s, "acct") == 0) {
			report("acct", pam_acct_mgmt(h, 0), h);
		} else if (strcmp(s, "open") == 0) {
			report("open", pam_open_session(h, 0), h);
		} else if (strcmp(s, "close") == 0) {
			report("close", pam_close_session(h, 0), h);
		} else if (strcmp(s, "wait") == 0) {
			char line[64];

			printf("WAITING\n");
			fflush(stdout);
			if (fgets(line, sizeof(line), stdin) == NULL)
				clearerr(stdin);
		} else if (strcmp(s, "fdcount") == 0) {
			printf("FDCOUNT %d\n", count_fds());
		} else if (strcmp(s, "timed") == 0) {
			char *end = NULL;
			long n, k;

			if (i + 1 >= argc)
				return usage();
			n = strtol(argv[++i], &end, 10);
			if (end == argv[i] || *end != '\0' || n < 1)
				return usage();
			ans.quiet = 1;
			for (k = 0; k < n; k++) {
				pam_handle_t *c = NULL;
				struct timespec t0, t1;
				int rc;

				if (pam_start_confdir(service, user, &pc, confdir, &c) != PAM_SUCCESS) {
					printf("TIMED %ld start-failed 0\n", k);
					break;
				}
				clock_gettime(CLOCK_MONOTONIC, &t0);
				rc = pam_acct_mgmt(c, PAM_SILENT);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				pam_end(c, rc);
				printf("TIMED %ld %s %lld\n", k, code_name(rc),
				       (long long)(t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000);
				fflush(stdout);
			}
			ans.quiet = 0;
		} else if (strcmp(s, "cycles") == 0) {
			char *end = NULL;
			long n, k;
			int before, after, last = -1;

			if (i + 1 >= argc)
				return usage();
			n = strtol(argv[++i], &end, 10);
			if (end == argv[i] || *end != '\0' || n < 1)
				return usage();
			before = count_fds();
			ans.quiet = 1;
			ans.messages = 0;
			for (k = 0; k < n; k++) {
				pam_handle_t *c = NULL;

				if (pam_start_confdir(service, user, &pc, confdir, &c) != PAM_SUCCESS) {
					printf("STEP cycles = start failed at %ld\n", k);
					break;
				}
				last = pam_acct_mgmt(c, PAM_SILENT);
				pam_end(c, last);
			}
			after = count_fds();
			ans.quiet = 0;
			printf("STEP cycles = %d %s (%ld cycles, %ld messages)\n", last, code_name(last), n, ans.messages);
			printf("fdcount before=%d after=%d\n", before, after);
		} else {
			pam_end(h, PAM_SUCCESS);
			return usage();
		}
		fflush(stdout);
	}
	pam_end(h, PAM_SUCCESS);
	return 0;
}
