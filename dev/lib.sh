# dev/lib.sh: shared by dev/up, dev/test, dev/down and bench/run.
# shellcheck shell=sh

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

# Debian packages parley needs to build, run and test.
PARLEY_DEBS="gcc make autoconf automake pkg-config perl openssl util-linux curl
 libfcgi-dev libpq-dev libssl-dev libjwt-dev libcurl4-openssl-dev libidn2-dev
 libjansson-dev libcrypt-dev liboath-dev libzxcvbn-dev libxml2-dev
 libarchive-dev libqrencode-dev libcjose-dev libc-ares-dev liblasso3-dev
 libmagic-dev libvips-dev poppler-utils
 postgresql postgresql-client nginx libnginx-mod-nchan
 libdbd-pg-perl libio-socket-ssl-perl libnet-ssleay-perl
 libjson-validator-perl libyaml-libyaml-perl
 python3 python3-aiosmtpd python3-bcrypt python3-yaml oathtool jq iproute2
 clang-format cppcheck prometheus redis-server systemd
 debhelper dh-autoreconf lintian dpkg-dev
 postgresql-15-auto-failover pg-auto-failover-cli"

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# deps [extra packages]: installs what is missing (as root), or prints the
# exact command and stops.
deps() {
	missing=""
	for p in $PARLEY_DEBS "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "Missing Debian packages:$missing"
		say "Install them with:"
		say "  sudo apt-get update && sudo apt-get install -y$missing"
		exit 1
	fi
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		die "apt-get install$missing failed"
}

# build DIR [configure flags]: out-of-tree build under build/DIR.
build() {
	dir="build/$1"
	shift
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	    [ Makefile.am -nt Makefile.in ]; then
		autoreconf -fi >/dev/null 2>&1 || autoreconf -fi || die "autoreconf failed"
	fi
	mkdir -p "$dir"
	flags="$*"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.flags" 2>/dev/null)" != "$flags" ] ||
	    [ configure -nt "$dir/Makefile" ]; then
		# shellcheck disable=SC2086
		(cd "$dir" && "$top/configure" -q $flags) || die "configure failed"
		printf '%s' "$flags" > "$dir/.flags"
	fi
	make -s -C "$dir" -j"$(nproc)" || die "build failed"
}

# pgdir NAME: where a private cluster lives. PostgreSQL refuses to run as
# root, so as root it runs as an unprivileged user in a fresh mktemp
# directory outside the checkout (one under /root is mode 0700); the
# cluster makes it private (0700) to that user. dev/up's is under
# /var/tmp, which survives a reboot, and dev/up remembers it in var/;
# the others are under /tmp.
pgdir() {
	if [ "$(id -u)" -eq 0 ]; then
		if [ "$1" = dev ] && [ -f "$top/var/pgdir" ] &&
		    [ -d "$(cat "$top/var/pgdir")" ]; then
			cat "$top/var/pgdir"
		elif [ "$1" = dev ]; then
			mktemp -d "/var/tmp/parley-$1-XXXXXXXX"
		else
			mktemp -d "/tmp/parley-$1-XXXXXXXX"
		fi
	else
		printf '%s/var/%s-pg' "$top" "$1"
	fi
}
