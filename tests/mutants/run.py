#!/usr/bin/env python3
"""`make mutants`: do the tests pin the security promises?

Each mutant below is a one-line change of the product code at a place a
security promise rests on (who may approve, who is root, how long an
allow lasts, what is logged, ...), with the tests that should notice it.
For every mutant this script, in a copy of the tree (never the work tree):
applies the change, builds, runs those tests, and reports

    killed     some test failed: the promise is pinned
    SURVIVED   every test passed: nothing pins the promise any more
    ERROR      the line was not found (or found twice), the mutant does not
               build, or no test ran: the list needs updating

and exits non-zero if any mutant survived or is in error. Before the
mutants, the same tests run once on the unchanged copy and must pass.

A line is named by its exact text (leading and trailing blanks aside); it
must occur once in the file, or once after the `after` line (itself
unique) when the same text occurs more than once. If the product code
changes under a mutant, the mutant reports ERROR, never a pass: update
its line here.

Not part of `make check` (a few minutes: one rebuild and a test run per
mutant). Usage:

    python3 tests/mutants/run.py [--list] [--only NAME[,NAME...]] [--keep]
        [--no-baseline]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
MAKE = os.environ.get("MAKE", "make")

AUTHZ = "tests/integration/test_daemon_authz.py"
LIFECYCLE = "tests/integration/test_daemon_lifecycle.py"
PAM = "tests/integration/test_pam_module.py"
FLEET = "tests/integration/test_fleet.py"
GATES = "tests/integration/test_fleet_gates.py"
SIGNED = "tests/integration/test_fleet_signed.py"
SNAPSHOTS = "tests/integration/test_fleet_snapshots.py"
SCALE = "tests/integration/test_fleet_scale.py"
OKTA_CLIENT = "tests/integration/test_okta_client.py"
NSS_MODULE = "tests/integration/test_nss_module.py"
NSS_DAEMON = "tests/integration/test_nss_daemon.py"
NSS_E2E = "tests/integration/test_nss_e2e.py"
WEB_ID = "tests/integration/test_web_identity.py"
WEB_SERVICE = "tests/integration/test_web_service.py"
DOCTOR_WEB = "tests/integration/test_doctor_web.py"
OKTA_LIFECYCLE = "tests/integration/test_okta_lifecycle.py"
KEYS = "tests/integration/test_keys.py"
LOGS = "tests/integration/test_structured_logs.py"


def M(name, path, line, to, tests, k=None, after=None, why=""):
    return {"name": name, "file": path, "line": line, "to": to, "tests": tests, "k": k, "after": after,
            "why": why}


MUTANTS = [
    # (1) approval by a group-type owner, through the group's owners API
    M("owner-group-member-refused", "helper/daemon/grants_approvers.c", "yes = check_user_in_group(&u, ol.v[i].id);", "yes = 0;",
      [AUTHZ], "group_type_owner",
      why="a member of a group that owns the Okta group may approve"),
    M("owner-group-anyone-approves", "helper/daemon/grants_approvers.c", "yes = check_user_in_group(&u, ol.v[i].id);", "yes = 1;",
      [AUTHZ], "group_type_owner",
      why="only a member of an owning group may approve"),
    # (2) approval by the integration owner
    M("integration-owner-anyone", "helper/daemon/grants_approvers.c",
      "yes = strcasecmp(owner + 5, u.login) == 0;", "yes = 1;",
      [AUTHZ], "integration_owner",
      why="approval = owner: only the integration owner approves"),
    M("no-owners-no-fallback", "helper/daemon/grants_approvers.c",
      "if (ol.n > 0 || owner == NULL) {", "if (1) {",
      [AUTHZ], "integration_owner",
      why="a group without owners falls back to the integration owner"),
    # (3) two local accounts of one Okta person
    M("same-okta-person-approves", "helper/daemon/grants_approvers.c",
      "if (strcmp(u.id, g->okta_user_id) == 0) {", "if (0) {",
      [AUTHZ], "two_local_accounts",
      why="nobody approves their own request under another local name"),
    # (4) the cap on an extension applied at approval
    M("extension-cap-at-approval", "helper/daemon/grants_actions.c",
      "if (f != NULL && new_end > now + f->max_duration)",
      "if (0 && f != NULL && new_end > now + f->max_duration)",
      [LIFECYCLE], "stop_at_the_flows_maximum and sqlite",
      why="approved extensions never take a grant past the flow's maximum"),
    # (5) root is uid 0, not gid 0
    M("peer-gid-is-root", "helper/daemon/daemon.c",
      "a.is_root = cred.uid == 0;", "a.is_root = cred.gid == 0;",
      [AUTHZ], "gid_0",
      why="a caller is root by its uid only"),
    # (6) the answer board's mode check
    M("board-others-may-write", "pam_module/pam_okta_jit.c",
      "if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0 ||",
      "if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 070) != 0 ||",
      [PAM], "not_safely",
      why="a board group or others may write is not read"),
    # (7) the break-glass syslog line
    M("breakglass-not-logged", "pam_module/pam_okta_jit.c",
      'pam_syslog(pamh, LOG_ALERT, "breakglass: user=%s passes as a member of local group %s; '
      'okta-jit not consulted",',
      'if (0) pam_syslog(pamh, LOG_ALERT, "breakglass: user=%s passes as a member of local group %s; '
      'okta-jit not consulted",',
      [PAM], "breakglass_is_written",
      why="a break-glass login is logged by the module itself"),
    # (8) a board allow from the member list (roster) ends with the grant
    M("roster-board-outlives-grant", "helper/daemon/check_decide.c",
      "ans->valid_until = ans->from_grace ? 0 : timebound && ge[i].end_at < fresh_until ? ge[i].end_at : "
      "fresh_until;",
      "ans->valid_until = ans->from_grace ? 0 : fresh_until;",
      [PAM], "member_list",
      after="if (!check_roster_allows(d, groups[i], gids[i], user, login, &deadline, &grace, &fresh_until))",
      why="an answer-board allow from the member list never outlives the grant"),
    # the same promise on the per-user path
    M("user-board-outlives-grant", "helper/daemon/check_decide.c",
      "ans->valid_until = ans->from_grace ? 0 : timebound && ge[i].end_at < fresh_until ? ge[i].end_at : "
      "fresh_until;",
      "ans->valid_until = ans->from_grace ? 0 : fresh_until;",
      [PAM], "board_answers_end_with_the_grant",
      after="fresh_until = info.fetched_at + d->cfg->cache_ttl;",
      why="an answer-board allow from the user's own answer never outlives the grant"),
    # the same promise on a gate, answering from its memory (issue 17)
    M("gate-board-outlives-grant", "helper/daemon/check_decide.c",
      "if (timebound && mg[i].end_at < ans->valid_until)",
      "if (0)",
      [GATES], "board_answer_ends_with_the_grant",
      why="a gate's answer-board allow never outlives the grant"),
    # (8b) issue 17: gates answer from memory, told by notices; rows signed
    M("gate-ignores-grant-notices", "helper/daemon/mirror.c",
      "if (kind != 'g' && kind != 's')",
      "if (kind != 's')",
      [SCALE], "refuses_a_revocation_and_an_end_within_a_second",
      why="every gate refuses a revocation within 1 s of the ledger write (not at the 10 s re-read)"),
    M("gate-takes-unsigned-grants", "helper/daemon/mirror.c",
      "if (strcmp(g->state, GS_ACTIVE) == 0 && g->op[0] == '\\0' && !g->sig_ok) {",
      "if (0) {",
      [SIGNED], "forged_grant_and_snapshot",
      why="a gate uses only grant rows a granter signed: a database writer lets no one in"),
    M("gate-takes-unsigned-snapshots", "helper/daemon/mirror.c",
      "if (mirror_keys(m) != NULL && !fleet_snapshot_ok(mirror_keys(m), h, text != NULL ? text : \"\")) {",
      "if (0) {",
      [SIGNED], "members_are_edited_by_sql",
      why="a gate uses only snapshots a granter signed"),
    M("gate-ignores-okta-status", "helper/daemon/check_decide.c",
      "if (sn.listed && strcmp(sn.status, \"ACTIVE\") != 0) {",
      "if (0) {",
      [GATES], "no_okta_credential_answers",
      why="a gate refuses a user Okta lists as not ACTIVE"),
    M("snapshot-claim-ignored", "helper/daemon/snapshots.c",
      "r = ledger_claim_snapshot(d->ledger, g->name);",
      "r = 1;",
      [SNAPSHOTS], "listing_each_once_per_ttl",
      why="one granter lists a group at a time: Okta's cost does not grow with the granters"),
    # (9) a grant's end takes the membership out of Okta (fleet)
    M("fleet-removal-skipped", "helper/daemon/grants.c",
      "gone = okta_group_remove_member(d->okta, &grp, g->okta_user_id, &e) == 0;",
      "gone = 1;",
      [FLEET], "expiry_with_two_granters",
      why="an ended grant's membership is removed from Okta"),
    # a backoff okta-jit chose ends once Okta answers another call (the
    # wake test, its timing now bounded from that answer)
    M("backoff-not-woken", "helper/okta/okta_client.c",
      "if (kind == PAUSE_BACKOFF && atomic_load(&c->answers) != seen)",
      "if (0 && kind == PAUSE_BACKOFF && atomic_load(&c->answers) != seen)",
      [OKTA_CLIENT], "backoff_ends_once",
      why="a login's fetch does not sleep on once Okta is back"),
    # (10) every token request signs a fresh assertion (jti)
    M("assertion-jti-reused", "helper/okta/jwt.c",
      "if (RAND_bytes(rnd, sizeof(rnd)) != 1)",
      "if (RAND_bytes(rnd, sizeof(rnd)) != 1 || memset(rnd, 7, sizeof(rnd)) == NULL)",
      [OKTA_CLIENT], "fresh_assertions",
      why="a retried token request carries a new jti"),
    # issue 18: the NSS half
    M("nss-member-past-end", "nss_module/nss_okta_jit.c", "if (end_at <= now)", "if (end_at <= now - 3600)",
      [NSS_MODULE], "leaves_the_group",
      why="a JIT group's member is gone from it at his grant's end, to the second"),
    M("nss-env-in-setuid", "nss_module/nss_okta_jit.c", "const char *p = secure_getenv(NSS_CACHE_ENV);",
      "const char *p = getenv(NSS_CACHE_ENV);", [NSS_MODULE], "setuid",
      why="sudo never reads a cache its caller names"),
    M("nss-cache-any-owner", "helper/common/nss_cache.c",
      "if (st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {",
      "if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {", [NSS_MODULE], "not_owned_by_root",
      why="only root's cache names users and groups"),
    M("nss-local-name-offered", "helper/daemon/nss_writer.c", "if (local_has_name(n, x->name)) {", "if (0) {",
      [NSS_DAEMON], "local_account_made_later",
      why="a local account's name is never offered by the cache"),
    # issue 21: the Okta key in a TPM; its rotation
    M("tpm-sign-without-provider", "helper/okta/okta_key.c",
      'snprintf(k->propq, sizeof(k->propq), "?provider=%s", k->provider);',
      'snprintf(k->propq, sizeof(k->propq), "%s", "");', [KEYS], "doctor_with",
      why="a TPM key signs through its provider (the private half never comes out)"),
    M("tpm-key-swapped-signed", "helper/okta/okta_key.c",
      "if (dlen != k->pub_der_len || memcmp(der, k->pub_der, (size_t)dlen) != 0) {",
      "if (0 && (dlen != k->pub_der_len || memcmp(der, k->pub_der, (size_t)dlen) != 0)) {", [KEYS], "another_key",
      why="a handle that comes to hold another key is not signed with"),
    M("key-rotate-anyone", "helper/daemon/daemon_dispatch.c", "if (!a->is_root) {", "if (0) {", [KEYS], "root_only",
      after="static void do_key_rotate(struct jitd *d, const struct actor *a, struct proto_out *o)",
      why="only root switches okta-jitd's Okta key"),
    M("keys-user-any-request", "helper/daemon/daemon_dispatch.c",
      "if (!a->is_root && !a->web && d->keys_uid_set && a->uid == d->keys_uid && m->type != PROTO_KEYS) {", "if (0) {",
      [NSS_DAEMON], "keys_request_authorisation",
      why="the keys user may read keys and nothing else"),
    M("keys-without-grant", "helper/daemon/nss_writer.c", "if (f->ssh_keys == FLOW_KEYS_REQUESTERS) {", "if (1) {",
      [NSS_DAEMON], "keys_only_while_a_grant",
      why="keys are served only during a grant unless the flow says requesters"),
    M("key-options-accepted", "helper/common/sshkey.c", "if (!allow_options) {", "if (0) {",
      [NSS_DAEMON], "cache_holds_exactly",
      why="a key with command= or from= options is refused unless key_options = allow"),
    # issue 19: the web socket acts only for a verified Okta ID token
    M("id-token-any-alg", "helper/okta/oidc_verify.c", 'if (alg == NULL || strcmp(alg, "RS256") != 0) {',
      "if (alg == NULL) {", [WEB_ID], "bad_tokens",
      why="the header's alg chooses nothing: RS256 alone"),
    M("id-token-any-audience", "helper/okta/oidc_verify.c",
      "if (!cJSON_IsString(aud) || strcmp(aud->valuestring, v->client_id) != 0) {", "if (!cJSON_IsString(aud)) {",
      [WEB_ID], "bad_tokens",
      why="a token for another Okta app is not a sign-in to the web service"),
    M("id-token-no-session-max", "helper/okta/oidc_verify.c", "if (iat < now - v->session_max) {", "if (0) {",
      [WEB_ID], "bad_tokens",
      why="a stolen web process acts only for recent sign-ins"),
    # (issue 19) one reader of okta-jit.conf, and doctor's [web] steps
    M("web-url-http-anywhere", "helper/config/config_web.c", "if (plain && !config_web_is_loopback(name)) {",
      "if (plain && 0) {", ["tests/test_unit_c.py"], "config or web",
      why="people reach the pages over https://; http:// only for a loopback test"),
    M("web-reads-its-own-sections-only", "helper/web/web_config.c", "if (config_load(path, &c, &eb) != 0) {",
      "if (config_load(path, &c, &eb) != 0 && strstr(eb.data, \"[web]\") != NULL) {", [WEB_SERVICE],
      "reads_the_file", why="a mistake anywhere in the file stops okta-jit-web as it stops okta-jitd"),
    M("doctor-web-secret-any-mode", "helper/cli/doctor.c", "else if ((st.st_mode & 077) != 0)", "else if (0)",
      [DOCTOR_WEB], "broken", why="a client secret readable by others is a finding"),
    M("doctor-web-socket-any-group", "helper/cli/doctor.c", "!have_group || st.st_gid != gid)", "0)",
      [DOCTOR_WEB], "broken", why="the web socket must be okta-jit-web's, 0660"),
    M("renamed-group-removal-any-row", "helper/daemon/grants.c", "if (!grants_row_signed_here(d, g))", "if (0)",
      ["tests/integration/test_fleet.py"], "forged_grant_rows",
      why="a database writer's row must not take members out of a group of its choosing"),
    # (issue 20) drift: one granter sweeps a group at a time
    M("drift-sweep-claim-ignored", "helper/daemon/drift.c", "if (c == 0) {", "if (0) {",
      ["tests/integration/test_drift.py"], "claim",
      why="in a fleet one granter sweeps (and removes from) a group at a time"),
    # issue 20 items 2 and 3: Okta's user and group lifecycle reaches the grants
    M("lifecycle-okta-error-is-deletion", "helper/daemon/lifecycle.c",
      "if (e.kind == OKTA_ERR_NOT_FOUND && e.status == 404)", "if (1)", [OKTA_LIFECYCLE], "okta_errors",
      after="if (okta_user_get_by_id(d->okta, uid, &u, &e) != 0) {",
      why="an Okta outage or refusal must never end grants as if the user were deleted"),
    M("lifecycle-revoke-on-ignored", "helper/daemon/lifecycle.c",
      "} else if ((config_user_status_bit(u.status) & d->cfg->revoke_on) != 0) {", "} else if (0) {",
      [OKTA_LIFECYCLE], "suspended_user_loses", why="a suspended user keeps the Okta membership and every app"),
    M("lifecycle-forged-row-renamed", "helper/daemon/lifecycle.c", "if (!d->ledger_shared || d->keys.sign == NULL)",
      "if (1)", [OKTA_LIFECYCLE], "forged_row",
      why="a login change must not sign a database writer's row with the fleet key"),
    M("check-deleted-group-unexplained", "helper/daemon/check_decide.c",
      "} else if (check_group_gone(d, groups[0], gone_code, sizeof(gone_code), gone_why, sizeof(gone_why))) {",
      "} else if (0) {", [OKTA_LIFECYCLE], "deleted_group_ends",
      why="a check of a group deleted in Okta says so (group_deleted), and doctor names the fix"),
    M("follow-forces-refusal-counts", "helper/daemon/daemon_dispatch.c", "refusals_flush(d, proto_get(m, T_CURSOR) == NULL);",
      "refusals_flush(d, 1);", ["tests/integration/test_cli_output.py"], "refusal_counts",
      why="issue 22: `audit --follow` polling every second does not turn the one-row-a-minute bound of "
          "non-root refusals into one a second"),
    M("audit-page-without-cursor", "helper/daemon/daemon_dispatch.c", "if (n < pg->n)", "if (0)",
      ["tests/integration/test_audit_pages.py"], "text_and_json and sqlite",
      why="issue 22: an AUDIT page that does not say more follow would end `okta-jit audit` at its first page"),
    # (issue 22) what is logged: the journal's fields, and one way to name a person
    M("journal-audit-without-fields", "helper/common/util.c",
      "if (log_journal && log_journal_fn(LOG_NOTICE, LOG_AUTHPRIV, log_ident, NULL, safe, f) == 0)",
      "if (log_journal && log_journal_fn(LOG_NOTICE, LOG_AUTHPRIV, log_ident, NULL, safe, NULL) == 0)",
      [LOGS], "journal_entries_carry_the_fields",
      why="under systemd an audit record is a journal entry with its fields (GRANT_ID, OKTA_JIT_USER, ...)"),
    M("approver-named-by-login", "helper/daemon/jitd.c",
      "if (config_unmap_login(d->cfg, who, local, sizeof(local)) == 0 && jitd_valid_username(local))",
      "if (0)", [LOGS], "named_the_same_way",
      why="the approver is named by the local name with the Okta login beside it, as everyone else is"),
]

class MutantError(Exception):
    pass


def locate(lines, m):
    """Index of the mutant's line in lines, or MutantError."""
    want = m["line"].strip()
    start = 0
    if m["after"]:
        anchors = [i for i, l in enumerate(lines) if l.strip() == m["after"].strip()]
        if len(anchors) != 1:
            raise MutantError("anchor line %s in %s (%d matches): %r" % (
                "not found" if not anchors else "ambiguous", m["file"], len(anchors), m["after"]))
        start = anchors[0] + 1
        for i in range(start, len(lines)):
            if lines[i].strip() == want:
                return i
        raise MutantError("line not found after its anchor in %s: %r" % (m["file"], want))
    hits = [i for i, l in enumerate(lines) if l.strip() == want]
    if not hits:
        raise MutantError("line not found in %s: %r" % (m["file"], want))
    if len(hits) > 1:
        raise MutantError("line found %d times in %s (name an `after` line): %r" % (len(hits), m["file"], want))
    return hits[0]


def copy_tree(dst, with_build):
    """Tracked and untracked-but-not-ignored files, mtimes kept; and build/
    (so that only what a mutant touches is rebuilt)."""
    r = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, check=True)
    for rel in r.stdout.decode().split("\0"):
        if not rel:
            continue
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        d = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(src, d)
    if with_build and os.path.isdir(os.path.join(ROOT, "build")):
        subprocess.run(["cp", "-a", os.path.join(ROOT, "build"), os.path.join(dst, "build")], check=True)


def build(tree, log):
    with open(log, "a") as f:
        f.write("\n===== make %s\n" % time.strftime("%H:%M:%S"))
        f.flush()
        # a clean environment for the copy's make: `make BUILD=... mutants`
        # must not point it at another build folder through MAKEFLAGS
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUILD")}
        r = subprocess.run([MAKE, "-C", tree, "-j2", "all", "unit-tests"], stdout=f, stderr=subprocess.STDOUT,
                           env=env)
    return r.returncode == 0


def run_tests(tree, m, log, timeout):
    """pytest's exit code (or 'timeout')."""
    argv = [PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"] + m["tests"]
    if m["k"]:
        argv += ["-k", m["k"]]
    env = dict(os.environ, OJIT_BUILD=os.path.join(tree, "build"))
    with open(log, "a") as f:
        f.write("\n===== %s: %s\n" % (m["name"], " ".join(argv)))
        f.flush()
        try:
            r = subprocess.run(argv, cwd=tree, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout"
    return r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--only", help="comma-separated mutant names")
    ap.add_argument("--keep", action="store_true", help="keep the copy of the tree (its path is printed)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run on the unchanged copy")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per test run (default 600)")
    args = ap.parse_args()

    mutants = MUTANTS
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {m["name"] for m in MUTANTS}
        if unknown:
            ap.error("no mutant named %s" % ", ".join(sorted(unknown)))
        mutants = [m for m in MUTANTS if m["name"] in names]
    if args.list:
        for m in mutants:
            print("%-30s %-28s %s" % (m["name"], m["file"], m["why"]))
        return 0

    tmp = tempfile.mkdtemp(prefix="ojit-mutants-")
    tree = os.path.join(tmp, "tree")
    log = os.path.join(tmp, "mutants.log")
    results = []
    try:
        print("mutants: copying the tree to %s" % tree, flush=True)
        copy_tree(tree, with_build=True)
        if not build(tree, log):
            print("mutants: the unchanged tree does not build; see %s" % log)
            args.keep = True
            return 2
        # every line must be where the list says before anything runs
        located = {}
        for m in mutants:
            try:
                with open(os.path.join(tree, m["file"])) as f:
                    lines = f.read().split("\n")
                located[m["name"]] = locate(lines, m)
            except (MutantError, OSError) as e:
                results.append((m, "ERROR", str(e), 0.0))
        if not args.no_baseline:
            seen = set()
            for m in mutants:
                key = (tuple(m["tests"]), m["k"])
                if m["name"] not in located or key in seen:
                    continue
                seen.add(key)
                rc = run_tests(tree, dict(m, name="baseline for " + m["name"]), log, args.timeout)
                if rc != 0:
                    print("mutants: the tests of %s fail on the unchanged tree (pytest %s); see %s" % (
                        m["name"], rc, log))
                    args.keep = True
                    return 2
            print("mutants: baseline passed (%d test selections)" % len(seen), flush=True)
        for m in mutants:
            if m["name"] not in located:
                r = [x for x in results if x[0] is m][0]
                print("%-30s ERROR     %s" % (m["name"], r[2]), flush=True)
                continue
            path = os.path.join(tree, m["file"])
            with open(path) as f:
                original = f.read()
            lines = original.split("\n")
            i = located[m["name"]]
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = indent + m["to"].strip()
            t0 = time.time()
            try:
                with open(path, "w") as f:
                    f.write("\n".join(lines))
                if not build(tree, log):
                    verdict, detail = "ERROR", "the mutant does not build"
                else:
                    rc = run_tests(tree, m, log, args.timeout)
                    if rc == 0:
                        verdict, detail = "SURVIVED", "every test passed"
                    elif rc == "timeout":
                        verdict, detail = "killed", "the tests timed out"
                    elif rc == 1:
                        verdict, detail = "killed", "a test failed"
                    else:
                        verdict, detail = "ERROR", "pytest exited %s (no tests ran?)" % rc
            finally:
                with open(path, "w") as f:
                    f.write(original)
            results.append((m, verdict, detail, time.time() - t0))
            print("%-30s %-9s %s (%s:%d, %.0f s)" % (m["name"], verdict, detail, m["file"], i + 1,
                                                    time.time() - t0), flush=True)
    finally:
        if args.keep or any(r[1] != "killed" for r in results):
            print("mutants: the copy and its log are kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    killed = sum(1 for r in results if r[1] == "killed")
    survived = [r[0]["name"] for r in results if r[1] == "SURVIVED"]
    errors = [r[0]["name"] for r in results if r[1] == "ERROR"]
    print("mutants: %d killed, %d survived, %d in error, of %d" % (killed, len(survived), len(errors), len(mutants)))
    if survived:
        print("mutants: SURVIVED: %s" % ", ".join(survived))
    if errors:
        print("mutants: ERROR: %s" % ", ".join(errors))
    return 1 if survived or errors else 0


if __name__ == "__main__":
    sys.exit(main())
