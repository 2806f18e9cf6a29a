"""paho-mqtt clients of the tests' mosquitto (mosquitto_broker.py), on 127.0.0.1.

Publisher publishes (topic, payload, ...) tuples and waits for the broker's acknowledgements;
Subscriber collects (topic, payload text) in arrival order. Each runs paho's network loop on
its own thread; the test thread calls the methods.
"""
import os
import threading
import time

import paho.mqtt.client as mqtt


class Publisher:
    def __init__(self, port, max_inflight=None):
        self.client = mqtt.Client(client_id=f"test-publisher-{os.getpid()}-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv311)
        if max_inflight is not None:
            self.client.max_inflight_messages_set(max_inflight)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.pending = []

    def publish(self, messages, qos=1, wait=True):
        """Publishes (topic, payload, ...) tuples; with wait, until the broker acknowledged all
        (else they are acknowledged by flush() or close())."""
        self.pending += [self.client.publish(topic, payload, qos=qos)
                         for topic, payload, *_ in messages]
        if wait:
            self.flush()

    def flush(self, timeout=20):
        for info in self.pending:
            info.wait_for_publish(timeout=timeout)
            assert info.is_published(), "the broker did not acknowledge a test message"
        self.pending = []

    def close(self):
        self.flush()
        self.client.loop_stop()
        self.client.disconnect()


class Subscriber:
    """Subscribes to `topic` at QoS 1 (clean session) before returning."""

    def __init__(self, port, topic):
        self.received = []
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(client_id=f"test-subscriber-{port}-{time.monotonic_ns()}",
                                  clean_session=True)
        self.client.on_message = self.on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise AssertionError(f"the test subscriber could not subscribe to {topic}")

    def on_message(self, _client, _userdata, message):
        with self.lock:
            self.received.append((message.topic, message.payload.decode()))

    def wait_for(self, count, timeout=40):
        """What arrived once `count` messages are in (or after `timeout` s), plus anything
        extra that shows up within 0.3 s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    break
            time.sleep(0.05)
        time.sleep(0.3)
        with self.lock:
            return list(self.received)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()
