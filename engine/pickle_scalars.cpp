// Decoding the payloads of the pickle opcodes that carry text and numbers: UTF-8 validation,
// Python 2 byte strings, arbitrary-length two's complement ints (LONG1/LONG4) and text ints (INT).
// Semantics follow CPython's Lib/pickle.py (decode_long, load_binunicode, load_int).
#include "engine/pickle_internal.h"

namespace wsol::pickle_detail {

// True when `s` is UTF-8 as Python's 'surrogatepass' decoder accepts it (pickle's BINUNICODE).
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const uint8_t c = uint8_t(s[i]);
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (s.size() - i <= n) return false;
        for (size_t k = 1; k <= n; ++k) {
            const uint8_t cc = uint8_t(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10ffff) return false;  // overlong or out of range
        i += n + 1;
    }
    return true;
}

// Python 2 `str` (BINSTRING) holds bytes; torch.load decodes them as UTF-8, and we fall back to
// latin-1 for bytes that are not (each byte is then one code point).
std::string decode_py2_string(std::string_view raw) {
    if (valid_utf8(raw)) return std::string(raw);
    std::string out;
    for (unsigned char c : raw) {
        if (c < 0x80) {
            out += char(c);
        } else {
            out += char(0xc0 | (c >> 6));
            out += char(0x80 | (c & 0x3f));
        }
    }
    return out;
}

// LONG1/LONG4 payload: little-endian two's complement of any length.
PyValue decode_long(std::string_view b) {
    if (b.empty()) return PyValue::integer(0);
    const bool negative = uint8_t(b.back()) & 0x80;
    // Fits in 64 bits when every byte above the 8th is pure sign extension of the 8th byte's top bit.
    bool fits = true;
    if (b.size() > 8) {
        const uint8_t fill = negative ? 0xff : 0x00;
        for (size_t i = 8; i < b.size(); ++i) fits = fits && uint8_t(b[i]) == fill;
        fits = fits && (bool(uint8_t(b[7]) & 0x80) == negative);
    }
    if (!fits) return PyValue::big_integer(std::string(b));
    uint64_t u = negative ? ~uint64_t(0) : 0;
    const size_t n = std::min<size_t>(b.size(), 8);
    for (size_t i = 0; i < n; ++i) {
        u &= ~(uint64_t(0xff) << (8 * i));
        u |= uint64_t(uint8_t(b[i])) << (8 * i);
    }
    return PyValue::integer(int64_t(u));
}

int64_t parse_int_text(std::string_view text) {
    int64_t v = 0;
    bool negative = false;
    size_t i = 0;
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) negative = text[i++] == '-';
    WSOL_CHECK(i < text.size(), "pickle: empty integer text");
    for (; i < text.size(); ++i) {
        WSOL_CHECK(text[i] >= '0' && text[i] <= '9', "pickle: bad integer text '", text, "'");
        const int digit = text[i] - '0';
        WSOL_CHECK(!__builtin_mul_overflow(v, 10, &v) && !__builtin_add_overflow(v, negative ? -digit : digit, &v),
                   "pickle: integer text '", text, "' does not fit in 64 bits");
    }
    return v;
}

}  // namespace wsol::pickle_detail
