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

# noisy-*.mp3: heldout 0005.wav + 0006.wav with pink noise (vol 0.03), a tone above the
# 16 kHz output's band (11 kHz; 7.7 kHz below 32 kHz) and a 2 ms noise click every 0.2 s
# (short blocks) on the left channel only, at each rate; LAME resamples nothing (--resample).
# TestMP3MatchesReference checks the decode against go-mp3's.
sox "$speech/0005.wav" "$speech/0006.wav" "$tmp/sp16.wav"
noisy() { # rate channels seconds out.wav
	sox "$tmp/sp16.wav" -r "$1" -c 1 "$tmp/sp.wav" trim 0 "$3"
	sox -n -r "$1" -c 1 "$tmp/noise.wav" synth "$3" pinknoise vol 0.03
	if [ "$1" -ge 32000 ]; then hi="sine 11000 vol 0.05"; else hi="sine 7700 vol 0.03"; fi
	sox -n -r "$1" -c 1 "$tmp/hi.wav" synth "$3" $hi
	sox -n -r "$1" -c 1 "$tmp/click.wav" synth 0.002 whitenoise vol 0.9 pad 0.1 0.198 repeat 20 trim 0 "$3"
	sox -m "$tmp/sp.wav" "$tmp/noise.wav" "$tmp/hi.wav" "$tmp/click.wav" "$tmp/left.wav"
	if [ "$2" = 2 ]; then
		sox -m "$tmp/sp.wav" "$tmp/noise.wav" "$tmp/right.wav"
		sox -M "$tmp/left.wav" "$tmp/right.wav" "$4"
	else
		cp "$tmp/left.wav" "$4"
	fi
}
noisy 48000 2 1.5 "$tmp/n48.wav" && lame --quiet --resample 48 -m f -b 96 "$tmp/n48.wav" "$here/noisy-48k-ms.mp3"
lame --quiet --resample 48 -m s -b 64 "$tmp/n48.wav" "$here/noisy-48k-lr.mp3"
noisy 44100 2 1.0 "$tmp/n44.wav" && lame --quiet --resample 44.1 -m s -b 96 "$tmp/n44.wav" "$here/noisy-44k-lr.mp3"
noisy 32000 2 1.0 "$tmp/n32.wav" && lame --quiet --resample 32 -m j -b 64 "$tmp/n32.wav" "$here/noisy-32k-js.mp3"
noisy 24000 1 1.0 "$tmp/n24.wav" && lame --quiet --resample 24 -m m -b 32 "$tmp/n24.wav" "$here/noisy-24k-mono.mp3"
noisy 22050 2 1.0 "$tmp/n22.wav" && lame --quiet --resample 22.05 -m f -b 48 "$tmp/n22.wav" "$here/noisy-22k-ms.mp3"

# speech-8k.mp3, speech-11k.mp3: heldout 0004.wav as MPEG-2.5 Layer III mono (8 kHz at 16 kbit/s,
# 11.025 kHz at 24 kbit/s; LAME writes no Xing header for MPEG-2.5).
sox "$speech/0004.wav" -r 8000 "$tmp/s8.wav"
lame --quiet --resample 8 -m m -b 16 "$tmp/s8.wav" "$here/speech-8k.mp3"
sox "$speech/0004.wav" -r 11025 "$tmp/s11.wav"
lame --quiet --resample 11.025 -m m -b 24 "$tmp/s11.wav" "$here/speech-11k.mp3"

# noisy-48k-crc.mp3: the first 0.6 s of noisy-48k's input, with CRC-protected frames (-p).
sox "$tmp/n48.wav" "$tmp/n48s.wav" trim 0 0.6
lame --quiet --resample 48 -p -m j -b 64 "$tmp/n48s.wav" "$here/noisy-48k-crc.mp3"
