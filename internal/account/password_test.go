package account_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/account"
)

var cheap = account.Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "密码是一二三四五六", "", strings.Repeat("x", account.MaxPassword)} {
		h := account.HashPassword(pw, cheap)
		if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("hash %q is not PHC argon2id with the given params", h)
		}
		if strings.Contains(h, pw) && pw != "" {
			t.Fatalf("hash %q contains the password", h)
		}
		ok, err := account.CheckPassword(pw, h)
		if err != nil || !ok {
			t.Fatalf("CheckPassword(right) = %v, %v", ok, err)
		}
		for _, wrong := range []string{pw + "x", strings.ToUpper(pw) + "!", pw + "\x00"} {
			ok, err := account.CheckPassword(wrong, h)
			if err != nil || ok {
				t.Fatalf("CheckPassword(%q) against hash of %q = %v, %v; want false, nil", wrong, pw, ok, err)
			}
		}
	}
	// Salted: the same password never hashes the same twice.
	if account.HashPassword("same", cheap) == account.HashPassword("same", cheap) {
		t.Fatal("two hashes of one password are equal")
	}
	// The parameters come from the hash, not from the caller.
	h := account.HashPassword("pw", account.Params{Memory: 128, Time: 2, Threads: 2})
	if !strings.Contains(h, "$m=128,t=2,p=2$") {
		t.Fatalf("hash %q does not record its params", h)
	}
	if ok, err := account.CheckPassword("pw", h); !ok || err != nil {
		t.Fatalf("CheckPassword with other params = %v, %v", ok, err)
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good := account.HashPassword("pw", cheap)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	long := base64.RawStdEncoding.EncodeToString(make([]byte, 65))
	cases := map[string]string{
		"empty":            "",
		"dollar":           "$",
		"bcrypt":           "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":          with(1, "argon2i"),
		"five parts":       strings.Join(parts[:5], "$"),
		"seven parts":      good + "$x",
		"old version":      with(2, "v=16"),
		"no version":       with(2, "v="),
		"no params":        with(3, ""),
		"zero memory":      with(3, "m=0,t=1,p=1"),
		"huge memory":      with(3, fmt.Sprintf("m=%d,t=1,p=1", 1<<21)),
		"zero time":        with(3, "m=64,t=0,p=1"),
		"many passes":      with(3, "m=64,t=17,p=1"),
		"zero threads":     with(3, "m=64,t=1,p=0"),
		"threads overflow": with(3, "m=64,t=1,p=256"),
		"negative memory":  with(3, "m=-64,t=1,p=1"),
		"bad salt":         with(4, "!!!"),
		"padded salt":      with(4, parts[4]+"=="),
		"empty key":        with(5, ""),
		"bad key":          with(5, "***"),
		"key too long":     with(5, long),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := account.CheckPassword("pw", h)
			if ok || err == nil {
				t.Fatalf("CheckPassword(%q) = %v, %v; want false and an error", h, ok, err)
			}
		})
	}
	// A well-formed hash with any one bit of its key altered is a plain mismatch.
	for _, i := range []int{0, 15, 31} {
		key, _ := base64.RawStdEncoding.DecodeString(parts[5])
		key[i] ^= 1
		if ok, err := account.CheckPassword("pw", with(5, base64.RawStdEncoding.EncodeToString(key))); ok || err != nil {
			t.Fatalf("key altered at byte %d = %v, %v; want false, nil", i, ok, err)
		}
	}
	// A shorter key is checked at its own length.
	short := with(5, base64.RawStdEncoding.EncodeToString(func() []byte { k, _ := base64.RawStdEncoding.DecodeString(parts[5]); return k[:16] }()))
	if ok, err := account.CheckPassword("pw", short); ok || err != nil {
		t.Fatalf("truncated key = %v, %v; want false, nil", ok, err)
	}
}

// FuzzCheckPassword checks that no stored hash, however mangled, panics,
// that a match never comes with an error, and that every password matches
// its own hash.
func FuzzCheckPassword(f *testing.F) {
	good := account.HashPassword("pw", cheap)
	f.Add("pw", good)
	f.Add("pw", good[:len(good)-3])
	f.Add("", "")
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=255$c2FsdA$a2V5")
	f.Add("x", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$"+strings.Repeat("A", 86))
	f.Add("x", "$argon2id$v=19abc$m=64,t=1,p=1junk$c2FsdA$a2V5")
	f.Add("密码", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5$")
	f.Fuzz(func(t *testing.T, password, encoded string) {
		if len(password) > account.MaxPassword {
			password = password[:account.MaxPassword]
		}
		// Keep each run cheap: the parser accepts costs up to 1 GiB x 16
		// passes, which is a matter for the config, not for this target.
		parts := strings.Split(encoded, "$")
		if len(parts) > 3 {
			var m, tm uint64
			var p uint64
			if n, _ := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); n == 3 && (m > 4096 || tm > 2) {
				t.Skip("expensive parameters")
			}
		}
		ok, err := account.CheckPassword(password, encoded)
		if ok && err != nil {
			t.Fatalf("CheckPassword(%q, %q) = true with error %v", password, encoded, err)
		}
		if ok, err := account.CheckPassword(password, account.HashPassword(password, cheap)); !ok || err != nil {
			t.Fatalf("password %q does not match its own hash: %v, %v", password, ok, err)
		}
	})
}
