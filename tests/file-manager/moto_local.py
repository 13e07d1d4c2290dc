"""A local moto_server (moto[server], next to this Python) on a free port, for the scripts
that check against it (moto_crosscheck.py, presign_e2e.py). Imported from the script's own
directory, which Python puts on sys.path."""
import os, socket, subprocess, sys, time, urllib.request


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def start_moto():
    """Starts moto_server and waits (up to 10 s) until it answers: (process, endpoint URL)."""
    port = free_port()
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            urllib.request.urlopen(endpoint, timeout=1); break
        except Exception:
            time.sleep(0.2)
    return proc, endpoint
