"""A software TPM for the key tests (issue 21): Debian's swtpm on loopback,
driven with tpm2-tools, and used by okta-jit through OpenSSL's tpm2
provider (tpm2-openssl) with TPM2OPENSSL_TCTI=swtpm:... ([okta] tpm2_tcti).

swtpm serves one connection at a time, as a bare TPM does: okta-jit opens
the TPM only while it signs, so the tools here work while okta-jitd runs.
"""
import os
import random
import shutil
import socket
import subprocess
import time

import pytest

TPM_TOOLS = ("swtpm", "tpm2_createprimary", "tpm2_evictcontrol", "tpm2_flushcontext")
TPM2_PROVIDER = "/usr/lib/x86_64-linux-gnu/ossl-modules/tpm2.so"


def tpm_missing():
    missing = [t for t in TPM_TOOLS if shutil.which(t) is None]
    if not os.path.exists(TPM2_PROVIDER) and not any(
            os.path.exists(os.path.join(d, "tpm2.so")) for d in ("/usr/lib64/ossl-modules", "/usr/lib/ossl-modules")):
        missing.append("tpm2-openssl")
    return missing


class SwTpm:
    def __init__(self, workdir):
        self.state = os.path.join(workdir, "tpmstate")
        os.makedirs(self.state, exist_ok=True)
        self.logpath = os.path.join(workdir, "swtpm.log")
        self.proc = None
        self.port = None
        # Below the kernel's ephemeral ports: the TPM goes away and comes
        # back on the same port, which an outgoing connection must not have
        # taken meanwhile.
        low = 20000
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                eph_low = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            eph_low = 32768
        high = max(low + 200, eph_low - 2)
        for _ in range(50):
            port = random.randrange(low, high, 2)
            if self._free(port) and self._free(port + 1):
                self.port = port
                break
        assert self.port is not None, "no free port pair for swtpm"
        self.tcti = "swtpm:host=127.0.0.1,port=%d" % self.port
        self.start()

    @staticmethod
    def _free(port):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def start(self):
        log = open(self.logpath, "a")
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=%s" % self.state,
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % self.port,
             "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % (self.port + 1),
             "--flags", "not-need-init,startup-clear"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                # its port still held a moment after a stop: try again
                if time.time() < deadline - 1:
                    time.sleep(0.2)
                    log = open(self.logpath, "a")
                    self.proc = subprocess.Popen(self.proc.args, stdout=log, stderr=subprocess.STDOUT)
                    log.close()
                    continue
                raise RuntimeError("swtpm exited: " + open(self.logpath).read()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port + 1), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("swtpm did not listen")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def env(self):
        return dict(os.environ, TPM2TOOLS_TCTI=self.tcti, TPM2OPENSSL_TCTI=self.tcti)

    def tool(self, *args, check=True):
        r = subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=self.env(),
                           cwd=self.state)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def persistent_key(self, handle="0x81000002", alg="ecc256:ecdsa-sha256", name_alg="sha256"):
        """A signing key made in the TPM and kept at a persistent handle
        (no file anywhere holds it). A primary key follows from the TPM's
        seed and its template: the same arguments make the same key, another
        name_alg another key."""
        # swtpm has three object slots and no resource manager: flush
        # what a previous tool left loaded.
        self.tool("tpm2_flushcontext", "-t")
        ctx = os.path.join(self.state, "k-%s.ctx" % handle)
        self.tool("tpm2_createprimary", "-Q", "-C", "o", "-g", name_alg, "-G", alg,
                  "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign", "-c", ctx)
        self.tool("tpm2_evictcontrol", "-Q", "-C", "o", "-c", ctx, handle)
        self.tool("tpm2_flushcontext", "-t")
        os.unlink(ctx)
        return "tpm2:handle:" + handle

    def public_pem(self, where):
        """The public half of a TPM key (a handle:... URI or a TSS2 file)."""
        r = self.tool("openssl", "pkey", "-provider", "tpm2", "-provider", "default",
                      "-propquery", "?provider=tpm2", "-in", where, "-pubout")
        return r.stdout


@pytest.fixture
def swtpm(tmp_path):
    missing = tpm_missing()
    if missing and os.environ.get("CI") == "true":
        pytest.fail("CI installs %s (packaging/install-deps.sh)" % ", ".join(missing))
    if missing:
        pytest.skip("needs %s (packaging/install-deps.sh installs them)" % ", ".join(missing))
    t = SwTpm(str(tmp_path / "swtpm"))
    yield t
    t.stop()


__all__ = ["SwTpm", "swtpm", "tpm_missing"]
