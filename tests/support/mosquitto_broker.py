"""A real mosquitto broker for tests: started on a free loopback port, stopped at exit.

    with MosquittoBroker(tmpdir) as broker:
        broker.uri          # "tcp://127.0.0.1:PORT"
        broker.restart()    # stop and start again on the same port (persistent sessions kept)

`tls=True` adds a TLS listener with a CA and server certificate generated with openssl at
test time (broker.tls_uri, broker.ca_file, broker.client_cert/client_key for mutual TLS).
`port` picks the port (for a broker that comes up where a client already tries to connect);
`persistence=False` writes nothing to disk (a restart then loses the sessions).
"""

import os
import shutil
import socket
import subprocess

from waiting import wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def make_test_pki(directory):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=runnel-test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "localhost"), ("client", "runnel-test-client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")
        extra = ["-extfile", "san.ext"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *extra)


class MosquittoBroker:
    def __init__(self, directory, tls=False, require_client_cert=False, extra_config="",
                 persistence=True, port=None):
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.port = port or free_port()
        self.uri = f"tcp://127.0.0.1:{self.port}"
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.tls_uri = f"ssl://127.0.0.1:{self.tls_port}" if tls else None
        self.ca_file = os.path.join(self.directory, "ca.pem")
        self.client_cert = os.path.join(self.directory, "client.pem")
        self.client_key = os.path.join(self.directory, "client.key")
        self.log_file = os.path.join(self.directory, "mosquitto.log")
        if tls:
            make_test_pki(self.directory)
        lines = [
            # As root, mosquitto would switch to user "mosquitto", who cannot read the test's
            # private temporary directory.
            *(["user root"] if os.geteuid() == 0 else []),
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            *(["persistence true", f"persistence_location {self.directory}/"] if persistence
              else ["persistence false"]),
            # Tests publish bursts: a stock broker would drop QoS 1 messages for a slow
            # subscriber after 1000 queued (see docs/mqtt.md for deployments).
            "max_queued_messages 0",
            "max_inflight_messages 0",
            f"log_dest file {self.log_file}",
        ]
        if tls:
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {self.ca_file}",
                f"certfile {self.directory}/server.pem",
                f"keyfile {self.directory}/server.key",
                f"require_certificate {'true' if require_client_cert else 'false'}",
            ]
        self.config_file = os.path.join(self.directory, "mosquitto.conf")
        with open(self.config_file, "w") as f:
            f.write("\n".join(lines) + "\n" + extra_config)
        self.process = None

    def start(self):
        self.process = subprocess.Popen([MOSQUITTO, "-c", self.config_file],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port in [self.port] + ([self.tls_port] if self.tls else []):
            wait_for(lambda: port_open(port), f"mosquitto to listen on port {port}")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self):
        self.stop()
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
