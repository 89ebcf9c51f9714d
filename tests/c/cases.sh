# The C suite's case tables, sourced by tests/c/run-tests.sh and tests/platforms/run.sh
# (the same cases under Wine and qemu). Expects KEY, KEY2 (RSA test keys) and TLS_CERT,
# TLS_KEY (the wss:// certificate) to be set.
# shellcheck shell=bash disable=SC2034

# tests/c/ftapi_c_tests.c:
# case name | simulator flags | extra environment
CASES=(
  "happy_zh|--lang zh --rate-limit off|"
  "bad_input|--rate-limit off|"
  "connect_fail||"
  "reject_init|--reject-init c-tests%20rejected|"
  "timeout|--withhold 3222|"
  "server_close|--close-after 3222|"
  "close_pending|--withhold 3222|"
  "inflight|--rate-limit off|"
  "free_in_callback|--delay-ms 200 --delay-protos 3222 --rate-limit off|"
  "sync_in_callback||"
  "encrypted|--rsa-key $KEY|FTAPI_TEST_KEY=$KEY"
  "encrypted|--rsa-key $KEY --aes ecb|FTAPI_TEST_KEY=$KEY"
  "encrypted|--rsa-key $KEY2|FTAPI_TEST_KEY=$KEY FTAPI_EXPECT_KEY_MISMATCH=1"
  "bad_sha1|--corrupt-sha1 3222|"
  "bad_body|--rsa-key $KEY --corrupt-body 3222|FTAPI_TEST_KEY=$KEY"
  "bad_body|--rsa-key $KEY --aes ecb --corrupt-body 3222|FTAPI_TEST_KEY=$KEY"
)

# tests/c/fault_matrix.c:
# case name | simulator flags (fault switches: sim/README.md)
FAULT_CASES=(
  "withheld|--withhold 3222"
  "close_mid_header|--delay-ms 300 --delay-protos 3222 --close-mid-header 3222"
  "close_mid_body|--delay-ms 300 --delay-protos 3222 --close-mid-body 3222"
  "corrupt_sha1|--delay-ms 300 --delay-protos 3222 --corrupt-sha1 3222"
  "bad_magic|--delay-ms 300 --delay-protos 3222 --bad-magic 3222"
  "huge_body|--delay-ms 300 --delay-protos 3222 --huge-body-len 3222"
  "trickle|--byte-at-a-time"
  "reset|--delay-ms 300 --delay-protos 3222 --reset 3222"
  "garbage_after|--garbage-after 3222"
  "wrong_proto|--wrong-proto 3222"
  "duplicate|--duplicate 3222"
  "late_reply|--delay-ms 800 --delay-protos 3222"
  "stop_reading|--stop-reading"
  "init_withheld|--withhold 1001"
  "connect_refused|"
  "no_resolve|"
  "silent|--withhold 1004,3222 --keep-alive-interval 1"
  "send_in_disconnect|--close-after 3222"
  "logs_no_key|--rsa-key $KEY"
  "mixed_after|--delay-ms 300 --delay-protos 3222 --close-mid-body 3222 --after 2"
  "enc_corrupt_sha1|--rsa-key $KEY --delay-ms 300 --delay-protos 3222 --corrupt-sha1 3222"
  "enc_corrupt_sha1|--rsa-key $KEY --aes ecb --delay-ms 300 --delay-protos 3222 --corrupt-sha1 3222"
)

# The same cases over OpenD's WebSocket door (ws://, and a few over wss://), where the
# fault has a meaning there (sim/README.md); the encryption cases are the TCP door's own.
WS_CASES=" withheld close_mid_header close_mid_body bad_magic huge_body trickle reset garbage_after
  wrong_proto duplicate late_reply stop_reading init_withheld silent send_in_disconnect mixed_after "
WSS_CASES=" withheld trickle garbage_after mixed_after "

# tests/c/channel.c (the official native channel):
CH_CASES=(
  "watchlist|--rate-limit off"
  "timeout|--withhold 3222"
  "server_close|--close-after 3222"
  "close_pending|--withhold 3222"
  "release_pending|--withhold 3222"
  "release_in_callback|--delay-ms 200 --delay-protos 3222 --rate-limit off"
  "encrypted|--rsa-key $KEY"
  "encrypted|--rsa-key $KEY --aes ecb"
  "push|--notify-on 3222"
  "callbacks|--rate-limit off"
  "bad_input|--rate-limit off"
)
