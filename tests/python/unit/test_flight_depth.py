"""flight.depth_for: the requests a reader keeps in flight follow the measured
bandwidth-delay product, never below the floor nor beyond the channel window."""
from sftp_client.remote.flight import depth_for

KIB, MIB = 1024, 1024 * 1024
REQUEST = 128 * KIB
WINDOW = 16 * MIB


def test_loopback_keeps_the_floor():
    # 200 MB/s over 0.2 ms: 40 KB in flight is plenty; the floor stays.
    assert depth_for(200e6, 0.0002, REQUEST, WINDOW, floor=16) == 16
    # ... even when the rate is all the floor allows (no signal to grow on).
    assert depth_for(REQUEST / 0.0005, 0.0005, REQUEST, WINDOW, floor=1) == 1


def test_a_long_link_held_by_the_depth_doubles_it():
    # 16 x 128 KiB per 80 ms round trip: the rate the depth allows, no more.
    rate = 16 * REQUEST / 0.08
    assert depth_for(rate, 0.08, REQUEST, WINDOW, floor=16) == 32


def test_a_filled_link_settles_at_twice_its_bandwidth_delay_product():
    # 50 MB/s (400 Mbit/s) over 80 ms: 4 MB per round trip, 8 MB in flight.
    depth = depth_for(50e6, 0.08, REQUEST, WINDOW, floor=16)
    assert depth * REQUEST >= 2 * 50e6 * 0.08
    assert (depth - 1) * REQUEST < 2 * 50e6 * 0.08


def test_never_beyond_the_channel_window():
    depth = depth_for(1e9, 0.3, REQUEST, WINDOW, floor=16)
    assert depth * REQUEST <= 0.75 * WINDOW
    assert depth == int(0.75 * WINDOW) // REQUEST


def test_a_small_window_still_allows_the_floor():
    assert depth_for(1e9, 0.3, REQUEST, 1 * MIB, floor=16) == 16


def test_no_measure_yet_means_the_floor():
    assert depth_for(0.0, 0.0, REQUEST, WINDOW, floor=16) == 16
    assert depth_for(50e6, 0.0, REQUEST, WINDOW, floor=4) == 4
