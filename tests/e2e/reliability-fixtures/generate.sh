#!/bin/sh
# Regenerates the few reliability fixtures that need a real encoder (Debian: apt-get install -y imagemagick).
# Everything else (PNG variants, GIF, SVG, text, truncated/corrupt copies, the 12000 px PNG) is made in code by
# files.ts. These are drawn by ImageMagick from gradients: no dataset image is involved.
set -eu
cd "$(dirname "$0")"
C=/usr/bin/convert
# Red-to-orange gradient, 48x40: a plain RGB JPEG (source of the truncated/corrupt JPEG cases) and a CMYK one.
$C -size 48x40 gradient:'#e01010-#f0a020' -quality 92 rgb.jpg
$C -size 48x40 gradient:'#e01010-#f0a020' -colorspace CMYK -quality 92 cmyk.jpg
# The same picture as lossless WebP, TIFF and HEIC (a format this Chromium cannot decode).
$C -size 48x40 gradient:'#e01010-#f0a020' -define webp:lossless=true rgb.webp
$C -size 48x40 gradient:'#e01010-#f0a020' -compress none rgb.tiff
$C -size 48x40 gradient:'#e01010-#f0a020' -quality 60 rgb.heic || echo "HEIC encoding unavailable: rgb.heic not made"
ls -l rgb.jpg cmyk.jpg rgb.webp rgb.tiff rgb.heic 2>/dev/null || true
