"""libnss_okta_jit.so.2 through the real glibc: `getent` and `id` run in a
private mount namespace whose /etc/nsswitch.conf (a bind mount) says
`passwd: files okta_jit`; glibc finds build/libnss_okta_jit.so.2 through
LD_LIBRARY_PATH, and the module reads the cache named by OKTA_JIT_NSS_CACHE,
written by the real writer (build/tests/nss_cache_tool). The machine's own
nsswitch.conf is never touched. Also the module's own return codes, called
directly (ctypes), and the setuid case, where the variable is ignored."""
import ctypes
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, run

MODULE = os.path.join(BUILD, "libnss_okta_jit.so.2")
TOOL = os.path.join(BUILD, "tests", "nss_cache_tool")
NSSWITCH = "passwd: files okta_jit\ngroup: files okta_jit\nshadow: files\n"
# sh -c SCRIPT sh NSSWITCH CMD...: bind the private nsswitch.conf, then run CMD.
_BIND = 'mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"'

FAR = 4102444800  # 2100-01-01
# `make asan-check` builds the module with ASan+UBSan (OJIT_SANITIZED=1):
# getent, id and python are not, so their runtimes are preloaded, and leak
# checks (of those programs, not of the module) are off.
SANITIZED = os.environ.get("OJIT_SANITIZED") == "1"


def san_env():
    if not SANITIZED:
        return {}
    r = subprocess.run(["ldd", MODULE], capture_output=True, text=True)
    libs = [line.split("=>")[1].split()[0] for line in r.stdout.splitlines()
            if "=>" in line and ("libasan" in line or "libubsan" in line)]
    return {"LD_PRELOAD": " ".join(libs), "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"}


def _user(name, uid, gecos="", shell="/bin/bash"):
    return {"name": name, "uid": uid, "gid": uid, "gecos": gecos, "dir": "/home/" + name, "shell": shell}


def base_spec(end=FAR, enumerate_=False):
    users = [_user("ojn-alice", 200101, "Alice Okta"), _user("ojn-bob", 200102),
             _user("root", 200103, "not the real root")]
    groups = [{"name": u["name"], "gid": u["uid"]} for u in users]
    groups.append({"name": "okta-web-sudo", "gid": 300101,
                   "members": [{"user": "ojn-alice", "end_at": end}, {"user": "ojn-bob", "end_at": 1000}]})
    groups.append({"name": "okta-big", "gid": 300102,
                   "members": [{"user": "m%04d" % i, "end_at": FAR} for i in range(500)]})
    return {"users": users, "groups": groups, "enumerate": enumerate_, "written_at": int(time.time())}


def write_cache(path, spec):
    if not os.path.exists(TOOL):
        pytest.fail("%s is not built; run `make unit-tests`" % TOOL)
    r = run([TOOL, "write", str(path)], input=json.dumps(spec))
    assert r.returncode == 0, r.stderr
    return str(path)


@pytest.fixture
def nss(tmp_path):
    if not os.path.exists(MODULE):
        pytest.fail("%s is not built; run `make`" % MODULE)
    conf = tmp_path / "nsswitch.conf"
    conf.write_text(NSSWITCH)

    def lookup(*args, cache=None):
        env = {"LD_LIBRARY_PATH": BUILD, "OKTA_JIT_NSS_CACHE": str(cache or tmp_path / "missing.cache")}
        env.update(san_env())
        r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", _BIND, "sh", str(conf)]
                + list(args), env=env, timeout=30)
        # getent: 0 found, 2 not found; a signal (a crash) is negative.
        assert r.returncode >= 0, "killed by signal %d: %s" % (-r.returncode, r.stderr)
        return r
    return lookup


def test_users_and_groups_through_glibc(nss, tmp_path):
    cache = write_cache(tmp_path / "nss.cache", base_spec())
    r = nss("getent", "passwd", "ojn-alice", cache=cache)
    assert r.returncode == 0 and r.stdout == "ojn-alice:*:200101:200101:Alice Okta:/home/ojn-alice:/bin/bash\n"
    r = nss("getent", "passwd", "200102", cache=cache)
    assert r.stdout == "ojn-bob:*:200102:200102::/home/ojn-bob:/bin/bash\n"
    r = nss("getent", "group", "okta-web-sudo", cache=cache)
    assert r.stdout == "okta-web-sudo:x:300101:ojn-alice\n"  # bob's grant ended in 1970
    r = nss("getent", "group", "300101", cache=cache)
    assert r.stdout == "okta-web-sudo:x:300101:ojn-alice\n"
    r = nss("id", "ojn-alice", cache=cache)
    assert r.stdout == "uid=200101(ojn-alice) gid=200101(ojn-alice) groups=200101(ojn-alice),300101(okta-web-sudo)\n"
    r = nss("id", "ojn-bob", cache=cache)
    assert r.stdout == "uid=200102(ojn-bob) gid=200102(ojn-bob) groups=200102(ojn-bob)\n"
    # 500 members do not fit glibc's first buffer: ERANGE, then a bigger one
    r = nss("getent", "group", "okta-big", cache=cache)
    assert r.returncode == 0
    assert r.stdout.strip().split(":")[3].split(",") == ["m%04d" % i for i in range(500)]
    r = nss("getent", "passwd", "ojn-carol", cache=cache)
    assert r.returncode == 2 and r.stdout == ""
    # `files` first: the local root hides the cache's
    r = nss("getent", "passwd", "root", cache=cache)
    assert r.stdout.startswith("root:x:0:0:")
    r = nss("getent", "passwd", "200103", cache=cache)
    assert r.stdout.startswith("root:*:200103:")  # only by its id


def test_member_leaves_the_group_at_the_grants_end(nss, tmp_path):
    end = int(time.time()) + 3
    cache = write_cache(tmp_path / "nss.cache", base_spec(end=end))
    r = nss("id", "-Gn", "ojn-alice", cache=cache)
    if time.time() < end:  # the lookup ran before the end: she is in
        assert r.stdout.split() == ["ojn-alice", "okta-web-sudo"]
    # the same file, never rewritten: the end is the module's own check
    deadline = end + 15
    while True:
        before = time.time()
        r = nss("getent", "group", "okta-web-sudo", cache=cache)
        if r.stdout == "okta-web-sudo:x:300101:\n":
            break
        assert r.stdout == "okta-web-sudo:x:300101:ojn-alice\n"
        # listed only by a lookup that started before the end second: one
        # started at or after it reads time() >= end (the same clock)
        assert before < end, "still a member %.2f s into her grant's end second" % (before - end)
        assert time.time() < deadline
        time.sleep(0.05)
    assert time.time() >= end  # gone, and not early
    r = nss("id", "-Gn", "ojn-alice", cache=cache)
    assert r.stdout.split() == ["ojn-alice"]


def test_cache_not_owned_by_root_is_refused(nss, tmp_path):
    cache = write_cache(tmp_path / "nss.cache", base_spec())
    assert nss("getent", "passwd", "ojn-alice", cache=cache).returncode == 0
    os.chown(cache, 65534, 65534)
    r = nss("getent", "passwd", "ojn-alice", cache=cache)
    assert r.returncode == 2 and r.stdout == ""
    assert nss("getent", "group", "okta-web-sudo", cache=cache).returncode == 2
    assert nss("getent", "passwd", "root", cache=cache).stdout.startswith("root:x:0:0:")
    os.chown(cache, 0, 0)
    os.chmod(cache, 0o666)  # root's, but anyone may write it
    assert nss("getent", "passwd", "ojn-alice", cache=cache).returncode == 2
    os.chmod(cache, 0o644)
    link = tmp_path / "link.cache"
    os.symlink(cache, link)  # a symlink to a good cache is not followed
    assert nss("getent", "passwd", "ojn-alice", cache=link).returncode == 2
    assert nss("getent", "passwd", "ojn-alice", cache=cache).returncode == 0


def test_truncated_cache_is_refused_without_a_crash(nss, tmp_path):
    cache = write_cache(tmp_path / "nss.cache", base_spec())
    size = os.path.getsize(cache)
    for n in (0, 7, 95, 96, size // 2, size - 1):
        os.truncate(cache, n)
        r = nss("getent", "passwd", "ojn-alice", cache=cache)
        assert r.returncode == 2 and r.stdout == "", n
        r = nss("id", "root", cache=cache)
        assert r.returncode == 0 and r.stdout.startswith("uid=0(root)"), n


def test_local_users_resolve_without_a_cache(nss, tmp_path):
    missing = tmp_path / "none" / "nss.cache"
    r = nss("getent", "passwd", "root", cache=missing)
    assert r.returncode == 0 and r.stdout.startswith("root:x:0:0:")
    r = nss("id", "root", cache=missing)
    assert r.returncode == 0 and r.stdout.startswith("uid=0(root) gid=0(root)")
    assert nss("getent", "group", "root", cache=missing).stdout.startswith("root:x:0:")
    assert nss("getent", "passwd", "ojn-alice", cache=missing).returncode == 2


def test_enumeration_only_when_the_cache_says_so(nss, tmp_path):
    cache = write_cache(tmp_path / "nss.cache", base_spec())
    r = nss("getent", "passwd", cache=cache)
    assert r.returncode == 0 and "root:x:0:0:" in r.stdout and "ojn-alice" not in r.stdout
    assert "okta-web-sudo" not in nss("getent", "group", cache=cache).stdout
    write_cache(cache, base_spec(enumerate_=True))
    lines = nss("getent", "passwd", cache=cache).stdout.splitlines()
    assert "ojn-alice:*:200101:200101:Alice Okta:/home/ojn-alice:/bin/bash" in lines
    assert "ojn-bob:*:200102:200102::/home/ojn-bob:/bin/bash" in lines
    groups = nss("getent", "group", cache=cache).stdout.splitlines()
    assert "okta-web-sudo:x:300101:ojn-alice" in groups


# The module's own answers, called directly in a child (the variable is read
# per call): NSS_STATUS_TRYAGAIN=-2 UNAVAIL=-1 NOTFOUND=0 SUCCESS=1.
_DIRECT = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
class Passwd(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("passwd", ctypes.c_char_p), ("uid", ctypes.c_uint),
                ("gid", ctypes.c_uint), ("gecos", ctypes.c_char_p), ("dir", ctypes.c_char_p),
                ("shell", ctypes.c_char_p)]
out = []
for size in (8, 4096):
    pw, buf, err = Passwd(), ctypes.create_string_buffer(size), ctypes.c_int(0)
    st = lib._nss_okta_jit_getpwnam_r(b"ojn-alice", ctypes.byref(pw), buf, size, ctypes.byref(err))
    out.append([st, err.value, pw.name.decode() if st == 1 else None])
pw, buf, err = Passwd(), ctypes.create_string_buffer(4096), ctypes.c_int(0)
st = lib._nss_okta_jit_getpwnam_r(b"nobody-here", ctypes.byref(pw), buf, 4096, ctypes.byref(err))
out.append([st, err.value, None])
print(json.dumps(out))
"""


def _direct(cache):
    env = {"OKTA_JIT_NSS_CACHE": str(cache)}
    env.update(san_env())
    r = run(["/usr/bin/python3", "-c", _DIRECT, MODULE], env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_status_codes(tmp_path):
    cache = write_cache(tmp_path / "nss.cache", base_spec())
    assert _direct(cache) == [[-2, 34, None], [1, 0, "ojn-alice"], [0, 2, None]]  # ERANGE, ENOENT
    os.truncate(cache, 100)
    assert _direct(cache) == [[-1, 5, None]] * 3  # EIO
    assert _direct(tmp_path / "missing") == [[-1, 2, None]] * 3


def test_exports_only_nss_symbols_and_links_only_libc():
    r = run(["nm", "-D", "--defined-only", MODULE])
    syms = sorted(line.split()[-1] for line in r.stdout.splitlines() if line.strip())
    assert syms == sorted("_nss_okta_jit_" + s for s in (
        "getpwnam_r", "getpwuid_r", "getgrnam_r", "getgrgid_r", "initgroups_dyn", "setpwent", "getpwent_r",
        "endpwent", "setgrent", "getgrent_r", "endgrent"))
    r = run(["readelf", "-d", MODULE])
    needed = [line.split("[")[1].rstrip("]") for line in r.stdout.splitlines() if "(NEEDED)" in line]
    if SANITIZED:
        needed = [n for n in needed if not n.startswith(("libasan", "libubsan", "libm.", "libgcc_s", "libstdc++"))]
    assert needed == ["libc.so.6"]
    # No heap of its own: the one allocator it calls is realloc, to grow
    # the caller's group array as initgroups_dyn's contract says.
    if not SANITIZED:
        r = run(["nm", "-D", "--undefined-only", MODULE])
        imported = {line.split()[-1].split("@")[0] for line in r.stdout.splitlines() if line.strip()}
        assert imported & {"malloc", "calloc", "realloc", "free", "strdup", "fopen", "getenv"} == {"realloc"}


def test_setuid_programs_ignore_the_variable(tmp_path):
    """sudo is setuid: a user who could point it at his own cache would name
    himself a member of okta-web-sudo. In the namespace the module sits in
    the system library folder (an overlay; a setuid program ignores
    LD_LIBRARY_PATH) and /var/cache is a folder of the test's, holding a
    cache with `ojn-sys`; the variable names one with `ojn-alice`."""
    if SANITIZED:
        pytest.skip("a setuid program cannot preload the sanitizers' runtime")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    libdir = "/usr/lib/x86_64-linux-gnu"
    if not os.path.isdir(libdir):
        pytest.skip("not a Debian multiarch layout")
    upper = tmp_path / "lib"
    upper.mkdir()
    shutil.copy(MODULE, upper / "libnss_okta_jit.so.2")
    varcache = tmp_path / "varcache"
    (varcache / "okta-jit").mkdir(parents=True)
    sys_spec = {"users": [_user("ojn-sys", 200201)], "groups": []}
    write_cache(varcache / "okta-jit" / "nss.cache", sys_spec)
    env_cache = write_cache(tmp_path / "env.cache", base_spec())
    getent = tmp_path / "getent-suid"
    shutil.copy("/usr/bin/getent", getent)
    os.chmod(getent, 0o4755)
    os.chmod(tmp_path, 0o755)
    conf = tmp_path / "nsswitch.conf"
    conf.write_text(NSSWITCH)
    script = ('mount --bind "$1" /etc/nsswitch.conf && '
              'mount -t overlay overlay -o lowerdir="$2":%s %s && mount --bind "$3" /var/cache && '
              'shift 3 && exec "$@"' % (libdir, libdir))
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(conf), str(upper),
              str(varcache)]
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {"OKTA_JIT_NSS_CACHE": env_cache}
    r = run(prefix + ["getent", "passwd", "ojn-alice", "ojn-sys"], env=env)
    if "overlay" in r.stderr:
        pytest.skip("no overlay mounts here: %s" % r.stderr.strip())
    assert r.stdout == "ojn-alice:*:200101:200101:Alice Okta:/home/ojn-alice:/bin/bash\n", r.stderr
    r = run(prefix + as_nobody + [str(getent), "passwd", "ojn-alice", "ojn-sys"], env=env)
    assert r.stdout == "ojn-sys:*:200201:200201::/home/ojn-sys:/bin/bash\n", r.stderr


@pytest.mark.skipif(SANITIZED, reason="ASan build (OJIT_SANITIZED=1): valgrind cannot run it")
def test_valgrind_clean(nss, tmp_path):
    """Every entry point under memcheck: no invalid read, on a good cache and
    on a damaged one, and nothing of the module's left allocated."""
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is required (packaging/install-deps.sh installs it)")
    vg = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
          "--errors-for-leak-kinds=definite,indirect"]
    cache = write_cache(tmp_path / "nss.cache", base_spec(enumerate_=True))
    for args in (["getent", "passwd", "ojn-alice", "200102", "nobody-here"],
                 ["getent", "group", "okta-web-sudo", "okta-big", "300101", "nobody-here"],
                 ["getent", "passwd"], ["getent", "group"], ["id", "ojn-alice"]):
        r = nss(*(vg + args), cache=cache)
        assert r.returncode in (0, 2), r.stderr[-3000:]
    data = open(cache, "rb").read()
    cut = tmp_path / "cut.cache"
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    r = nss(*(vg + ["getent", "passwd", "ojn-alice"]), cache=cut)
    assert r.returncode == 2, r.stderr[-3000:]


# Threads looking up while the cache is replaced: every answer is whole,
# from the old file or the new one (ctypes releases the GIL during calls).
_THREADS = r"""
import ctypes, sys, threading
lib = ctypes.CDLL(sys.argv[1])
class Passwd(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("passwd", ctypes.c_char_p), ("uid", ctypes.c_uint),
                ("gid", ctypes.c_uint), ("gecos", ctypes.c_char_p), ("dir", ctypes.c_char_p),
                ("shell", ctypes.c_char_p)]
seen, bad = set(), []
stop = threading.Event()
def worker():
    buf, pw, err = ctypes.create_string_buffer(4096), Passwd(), ctypes.c_int(0)
    while not stop.is_set():
        st = lib._nss_okta_jit_getpwnam_r(b"ojn-alice", ctypes.byref(pw), buf, 4096, ctypes.byref(err))
        if st != 1:
            bad.append((st, err.value))
            continue
        seen.add((pw.uid, pw.gecos))
threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
while not seen and not bad:
    stop.wait(0.01)
print("ready", flush=True)
sys.stdin.readline()  # the parent replaces the cache meanwhile, then says stop
stop.set()
for t in threads:
    t.join()
print(sorted(seen), bad)
"""


def test_threads_while_the_cache_is_replaced(tmp_path):
    cache = tmp_path / "nss.cache"
    specs = [base_spec(), base_spec()]
    specs[1]["users"][0] = _user("ojn-alice", 200111, "Alice Renumbered")
    write_cache(cache, specs[0])
    env = dict(os.environ, OKTA_JIT_NSS_CACHE=str(cache), **san_env())
    p = subprocess.Popen(["/usr/bin/python3", "-c", _THREADS, MODULE], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline() == "ready\n"
    for i in range(40):
        write_cache(cache, specs[i % 2])
    out, err = p.communicate("stop\n", timeout=60)
    assert p.returncode == 0, err
    seen, bad = out.strip().rsplit(" ", 1)
    assert bad == "[]"  # never unusable, never a torn record
    assert seen in ("[(200101, b'Alice Okta'), (200111, b'Alice Renumbered')]",
                    "[(200101, b'Alice Okta')]", "[(200111, b'Alice Renumbered')]")
