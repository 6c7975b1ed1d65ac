/**
 * Shell lines that start GNOME Keyring, unlocked, inside `dbus-run-session`
 * and wait (up to 5 s) until it owns the Secret Service name, so the first
 * libsecret call never races the daemon's start on a busy machine. Exits 90
 * when the daemon does not start.
 */
export const START_KEYRING = `
echo -n testpass | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 90
for _ in $(seq 50); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true && break
  sleep 0.1
done
`;
