#!/bin/sh
# Regenerates the FLAC and MP3 fixtures of package asr (there are no Go encoders for
# them here). Needs flac, lame and sox (apt-get install -y flac lame sox); made with
# flac 1.4.2, LAME 3.100, SoX 14.4.2. Run from anywhere: sh asr/testdata/make_fixtures.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
speech="$root/testdata/heldout/speech"
demo="$root/testdata/demo/speech"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$demo"

# speech-16k.flac: heldout 0003.wav (16 kHz mono 16-bit), lossless; the test wants its exact samples.
flac --silent --force -8 -o "$here/speech-16k.flac" "$speech/0003.wav"

# tone-48k-24bit-5ch.flac: 0.3 s of 440 Hz at amplitude 0.5 on 5 channels, 24-bit, 48 kHz.
sox -D -n -r 48000 -b 24 -c 5 "$tmp/tone5.wav" synth 0.3 sine 440 vol 0.5
flac --silent --force -8 --channel-map=none -o "$here/tone-48k-24bit-5ch.flac" "$tmp/tone5.wav"

# tone-44k-stereo.mp3: 0.7 s of 440 Hz at amplitude 0.5, 44.1 kHz stereo, MPEG-1 Layer III
# 128 kbit/s CBR, with LAME's Info header (length, encoder delay) and an ID3v2 tag in front.
sox -n -r 44100 -b 16 -c 2 "$tmp/tone2.wav" synth 0.7 sine 440 vol 0.5
lame --quiet -b 128 --add-id3v2 --tt "asr test tone" "$tmp/tone2.wav" "$here/tone-44k-stereo.mp3"

# speech-16k-mono.mp3: heldout 0004.wav as MPEG-2 Layer III 16 kHz mono 32 kbit/s, without
# the Xing/LAME header (-t): plain frames from the first byte.
lame --quiet -t -m m -b 32 "$speech/0004.wav" "$here/speech-16k-mono.mp3"

# Demo clips (testdata/demo/speech): 0001.wav as 44.1 kHz stereo FLAC (right channel at
# 0.8 gain), 0002.wav as 44.1 kHz mono MP3 (MPEG-1 Layer III, 64 kbit/s).
sox "$speech/0001.wav" -r 44100 -b 16 -c 2 "$tmp/s1.wav" remix 1 1v0.8
flac --silent --force -8 -o "$demo/stereo-44k.flac" "$tmp/s1.wav"
sox "$speech/0002.wav" -r 44100 -b 16 "$tmp/s2.wav"
lame --quiet -m m -b 64 "$tmp/s2.wav" "$demo/clip.mp3"
