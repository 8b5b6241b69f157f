"""The journal's segment files: framed records, a torn tail cut off, group commit, rotation."""

from __future__ import annotations

import threading
import time

from modelport.local.aws.journal.log import Log, read, segment_name, segments


def test_records_come_back_in_order_across_segments(tmp_path):
    log = Log(tmp_path / "j")
    log.open()
    for i in range(3):
        log.sync(log.append(f"a{i}".encode()))
    second = log.rotate()
    log.sync(log.append(b"b0"))
    log.close()
    assert segments(tmp_path / "j") == [1, 2] and second == 2
    assert list(Log(tmp_path / "j").replay_from(1)) == [b"a0", b"a1", b"a2", b"b0"]
    assert list(Log(tmp_path / "j").replay_from(2)) == [b"b0"]


def test_a_torn_last_record_is_cut_off_and_the_log_continues_after_the_last_whole_one(tmp_path):
    log = Log(tmp_path / "j")
    log.open()
    log.sync(log.append(b"first"))
    log.sync(log.append(b"second"))
    log.close()
    path = tmp_path / "j" / segment_name(1)
    whole = path.read_bytes()
    path.write_bytes(whole[:-3])  # the crash cut the last record short
    assert read(path)[0] == [b"first"]
    reopened = Log(tmp_path / "j")
    reopened.open()
    reopened.sync(reopened.append(b"third"))
    reopened.close()
    assert list(Log(tmp_path / "j").replay_from(1)) == [b"first", b"third"]


def test_a_corrupted_record_ends_the_replay(tmp_path):
    log = Log(tmp_path / "j")
    log.open()
    for payload in (b"one", b"two", b"three"):
        log.append(payload)
    log.close()
    path = tmp_path / "j" / segment_name(1)
    data = bytearray(path.read_bytes())
    data[8 + 3 + 8] ^= 0xFF  # a byte of "two"'s payload
    path.write_bytes(bytes(data))
    assert read(path)[0] == [b"one"]


def test_concurrent_writers_share_flushes(tmp_path, monkeypatch):
    import os

    flushes = []
    real = os.fdatasync
    # a flush as slow as a busy disk's: the writers arriving meanwhile must wait for the next
    # one together, whatever the scheduler does (without it, a loaded machine ran the threads
    # one after another and the test measured the scheduler, not the journal)
    monkeypatch.setattr(os, "fdatasync", lambda fd: (flushes.append(fd), time.sleep(0.005), real(fd)))
    log = Log(tmp_path / "j")
    log.open()

    def write(n: int) -> None:
        for i in range(20):
            log.sync(log.append(f"{n}-{i}".encode()))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert len(list(Log(tmp_path / "j").replay_from(1))) == 160
    assert len(flushes) < 120  # writers waiting together share one flush (160 records)


def test_dropping_segments_a_snapshot_covers(tmp_path):
    log = Log(tmp_path / "j")
    log.open()
    log.append(b"old")
    log.rotate()
    log.append(b"new")
    log.drop_before(2)
    log.close()
    assert segments(tmp_path / "j") == [2]
