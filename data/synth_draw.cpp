// Rendering one synthetic image: background, distractors, then the class's object (see synth.h).
//
// Shapes are inside-tests in the object's own frame (u, v in [-1, 1] across its unrotated box);
// a pixel belongs to the object when its centre passes the test. No anti-aliasing: the mask must
// be exactly the set of object pixels.
#include <algorithm>
#include <array>
#include <cmath>

#include "data/sampling.h"
#include "data/synth.h"
#include "engine/error.h"

namespace wsol::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Sequential random numbers from Philox: counter words (key low, key high, draw number, stream).
class Stream {
public:
    Stream(uint64_t seed, uint64_t key, uint32_t sub)
        : seed_(seed), key_(key), stream_(uint32_t(RandomStream::Synth) + sub) {}
    uint32_t u32() {
        if (used_ == 4) {
            block_ = philox::philox4x32_10(uint32_t(key_), uint32_t(key_ >> 32), counter_++, stream_, uint32_t(seed_),
                                           uint32_t(seed_ >> 32));
            used_ = 0;
        }
        return block_.x[used_++];
    }
    double uniform(double lo = 0.0, double hi = 1.0) { return lo + (hi - lo) * (double(u32() >> 8) / 16777216.0); }
    int integer(int lo, int hi) { return lo + int(uniform_below(u32(), uint32_t(hi - lo + 1))); }  // inclusive

private:
    uint64_t seed_, key_;
    uint32_t stream_, counter_ = 0;
    philox::Block block_{};
    int used_ = 4;
};

// A cheap per-pixel hash for grain (statistical quality is not needed, determinism is).
inline uint32_t hash3(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u) * 0x85EBCA77u ^ (c + 0x165667B1u) * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    return h ^ (h >> 15);
}

struct Rgb {
    double r = 0, g = 0, b = 0;
};

Rgb hsv(double h, double s, double v) {
    h = std::fmod(std::fmod(h, 1.0) + 1.0, 1.0) * 6.0;
    const int i = int(h) % 6;
    const double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (i) {
        case 0:
            return {v, t, p};
        case 1:
            return {q, v, p};
        case 2:
            return {p, v, t};
        case 3:
            return {p, q, v};
        case 4:
            return {t, p, v};
        default:
            return {v, p, q};
    }
}

Rgb mix(const Rgb& a, const Rgb& b, double t) {
    return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

inline uint8_t to_byte(double v) {
    return uint8_t(std::clamp(v * 255.0 + 0.5, 0.0, 255.0));
}

void put(Image& img, int x, int y, const Rgb& c) {
    uint8_t* p = img.row(y) + 3 * size_t(x);
    p[0] = to_byte(c.r);
    p[1] = to_byte(c.g);
    p[2] = to_byte(c.b);
}

// Smooth value noise: a random lattice of `cells` x `cells` values, smoothstep-interpolated.
class ValueNoise {
public:
    ValueNoise(Stream& rng, int cells_x, int cells_y) : nx_(cells_x + 1), ny_(cells_y + 1), values_(size_t(nx_ * ny_)) {
        for (double& v : values_) v = rng.uniform();
    }
    // u, v in [0, 1]
    double at(double u, double v) const {
        const double fx = u * (nx_ - 1), fy = v * (ny_ - 1);
        const int x0 = std::min(int(fx), nx_ - 2), y0 = std::min(int(fy), ny_ - 2);
        const double tx = smooth(fx - x0), ty = smooth(fy - y0);
        const double a = values_[size_t(y0 * nx_ + x0)], b = values_[size_t(y0 * nx_ + x0 + 1)];
        const double c = values_[size_t((y0 + 1) * nx_ + x0)], d = values_[size_t((y0 + 1) * nx_ + x0 + 1)];
        return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }

private:
    static double smooth(double t) { return t * t * (3 - 2 * t); }
    int nx_, ny_;
    std::vector<double> values_;
};

// ---- shapes -------------------------------------------------------------------------------------

const char* const kShapeNames[kSynthShapes] = {"Ellipse", "Box",  "Triangle", "Diamond", "Star",
                                               "Cross",   "Ring", "Hexagon",  "Heart",   "Crescent"};
const char* const kTextureNames[kSynthTextures] = {"Striped", "Dotted", "Checkered", "Ringed",
                                                   "Shaded",  "Wavy",   "Gridded"};
const char* const kHueNames[kSynthHues] = {"Red",  "Orange", "Yellow", "Lime",   "Green",
                                           "Cyan", "Blue",   "Purple", "Magenta"};
const double kHues[kSynthHues] = {0.0, 0.075, 0.15, 0.25, 0.36, 0.5, 0.62, 0.75, 0.87};

// Is (u, v) inside shape `s`? The shapes touch the unit box [-1, 1]^2 on all four sides.
bool inside(int s, double u, double v) {
    const double au = std::fabs(u), av = std::fabs(v);
    if (au > 1 || av > 1) return false;
    switch (s) {
        case 0:
            return u * u + v * v <= 1;  // ellipse
        case 1: {                       // box with rounded corners (radius 0.3)
            const double qx = std::max(au - 0.7, 0.0), qy = std::max(av - 0.7, 0.0);
            return qx * qx + qy * qy <= 0.09;
        }
        case 2:
            return au <= (v + 1) / 2;  // triangle, apex at the top (image v grows downwards)
        case 3:
            return au + av <= 1;  // diamond
        case 4: {                 // five-pointed star
            const double r = std::sqrt(u * u + v * v);
            const double a = std::atan2(u, -v);                         // 0 at the top
            const double t = std::fmod(a / (2 * kPi) * 5 + 10.5, 1.0);  // 0.5 at a point
            return r <= 0.42 + 0.58 * (1 - 2 * std::fabs(t - 0.5));
        }
        case 5:
            return au <= 0.34 || av <= 0.34;  // plus-shaped cross
        case 6: {                             // ring
            const double r2 = u * u + v * v;
            return r2 <= 1 && r2 >= 0.3;
        }
        case 7:
            return au + 0.5 * av <= 1;  // hexagon: vertices (+-1, 0), (+-0.5, +-1)
        case 8: {                       // heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, fitted to the box
            const double x = u * 1.14, y = -v * 1.2 + 0.2;
            const double q = x * x + y * y - 1;
            return q * q * q - x * x * y * y * y <= 0;
        }
        default: {  // crescent: a disc minus an offset disc
            const double dx = u - 0.45, dy = v + 0.15;
            return u * u + v * v <= 1 && dx * dx + dy * dy > 0.62;
        }
    }
}

// Texture mask of class texture `t` at object-frame pixel offsets (tu, tv) with period p.
bool texture_on(int t, double tu, double tv, double p, double angle, double phase) {
    const double c = std::cos(angle), s = std::sin(angle);
    const double a = tu * c + tv * s + phase * p, b = -tu * s + tv * c + phase * p;
    auto wrap = [](double x, double period) { return x - std::floor(x / period) * period; };
    switch (t) {
        case 0:
            return wrap(a, p) < 0.5 * p;  // stripes
        case 1: {                         // dots
            const double x = wrap(a, p) - 0.5 * p, y = wrap(b, p) - 0.5 * p;
            return x * x + y * y < 0.09 * p * p;
        }
        case 2:
            return (int(std::floor(a / p)) + int(std::floor(b / p))) % 2 != 0;  // checker
        case 3:
            return wrap(std::sqrt(tu * tu + tv * tv) + phase * p, p) < 0.5 * p;  // concentric rings
        case 4:
            return false;  // shaded (no pattern)
        case 5:
            return wrap(b + 0.3 * p * std::sin(2 * kPi * a / p), 0.8 * p) < 0.4 * p;  // waves
        default:
            return wrap(a, p) < 0.22 * p || wrap(b, p) < 0.22 * p;  // grid
    }
}

// ---- the three layers -----------------------------------------------------------------------------

void draw_background(Image& img, Stream& rng, uint64_t key) {
    const int w = img.width, h = img.height;
    const Rgb a = hsv(rng.uniform(), rng.uniform(0.08, 0.45), rng.uniform(0.25, 0.85));
    const Rgb b = hsv(rng.uniform(), rng.uniform(0.08, 0.45), rng.uniform(0.25, 0.85));
    const ValueNoise low(rng, rng.integer(2, 5), rng.integer(2, 5));
    const ValueNoise mid(rng, rng.integer(8, 16), rng.integer(8, 16));
    const int overlay = rng.integer(0, 3);  // none, stripes, blotches, grid
    const double angle = rng.uniform(0, kPi), period = rng.uniform(6, 24), contrast = rng.uniform(0.03, 0.12);
    const double grain = rng.uniform(0.01, 0.05);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const double u = (x + 0.5) / w, v = (y + 0.5) / h;
            Rgb c = mix(a, b, low.at(u, v));
            double shade = 0.75 + 0.5 * mid.at(u, v);
            const double along = x * std::cos(angle) + y * std::sin(angle);
            if (overlay == 1) shade += std::sin(2 * kPi * along / period) > 0 ? contrast : -contrast;
            if (overlay == 2) shade += mid.at(v, u) > 0.6 ? -2 * contrast : 0;
            if (overlay == 3 && (int(along / period) % 4 == 0 || (y / int(period + 1)) % 5 == 0)) shade -= contrast;
            const double n =
                (double(hash3(uint32_t(key), uint32_t(x), uint32_t(y)) >> 8) / 16777216.0 - 0.5) * 2 * grain;
            put(img, x, y, Rgb{c.r * shade + n, c.g * shade + n, c.b * shade + n});
        }
    }
}

// Small clutter: blobs, ellipses, bars and triangles of any colour, drawn before the object.
int draw_distractors(Image& img, Stream& rng, const SynthOptions& o) {
    const int count = rng.integer(o.min_distractors, o.max_distractors);
    const double area = double(img.width) * img.height;
    for (int k = 0; k < count; ++k) {
        const int kind = rng.integer(0, 3);
        const double frac = rng.uniform(0.002, 0.03), aspect = kind == 2 ? rng.uniform(4, 9) : rng.uniform(0.6, 1.6);
        const double bw = std::sqrt(frac * area * aspect), bh = std::sqrt(frac * area / aspect);
        const double cx = rng.uniform(0, img.width), cy = rng.uniform(0, img.height), rot = rng.uniform(0, kPi);
        const Rgb colour = hsv(rng.uniform(), rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.95));
        const double wobble = rng.uniform(0.1, 0.35), lobes = rng.integer(3, 7), phase = rng.uniform(0, 2 * kPi);
        const bool outlined = rng.uniform() < 0.3;
        const double cs = std::cos(rot), sn = std::sin(rot), reach = 0.5 * std::max(bw, bh) + 2;
        const int x0 = std::max(0, int(cx - reach)), x1 = std::min(img.width - 1, int(cx + reach));
        const int y0 = std::max(0, int(cy - reach)), y1 = std::min(img.height - 1, int(cy + reach));
        for (int y = y0; y <= y1; ++y) {
            for (int x = x0; x <= x1; ++x) {
                const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                const double u = (dx * cs + dy * sn) / (bw / 2), v = (-dx * sn + dy * cs) / (bh / 2);
                const double r = std::sqrt(u * u + v * v);
                bool in = false;
                double edge = 1;
                switch (kind) {
                    case 0: {  // blob: a wobbly disc
                        const double limit = 1 - wobble * (0.5 + 0.5 * std::sin(lobes * std::atan2(v, u) + phase));
                        in = r <= limit;
                        edge = limit - r;
                        break;
                    }
                    case 1:
                        in = r <= 1, edge = 1 - r;
                        break;
                    case 2:
                        in = std::fabs(u) <= 1 && std::fabs(v) <= 1,
                        edge = std::min(1 - std::fabs(u), 1 - std::fabs(v));
                        break;
                    default:
                        in = std::fabs(u) <= (v + 1) / 2 && v <= 1, edge = std::min((v + 1) / 2 - std::fabs(u), 1 - v);
                }
                if (!in) continue;
                const double thin = 2.0 / std::max(3.0, std::min(bw, bh));
                put(img, x, y, outlined && edge < thin ? mix(colour, Rgb{}, 0.7) : colour);
            }
        }
    }
    return count;
}

}  // namespace

SynthClass synth_class(int label) {
    WSOL_CHECK(label >= 0 && label < kSynthMaxClasses, "synth_class: label ", label, " outside 0..",
               kSynthMaxClasses - 1);
    SynthClass c;
    c.shape = label % kSynthShapes;
    c.texture = label % kSynthTextures;
    c.hue = label % kSynthHues;
    c.name = std::string(kHueNames[c.hue]) + "_" + kTextureNames[c.texture] + "_" + kShapeNames[c.shape];
    return c;
}

SynthImage render_synth_image(const SynthOptions& o, int label, uint64_t key) {
    const SynthClass cls = synth_class(label);
    // Streams: 0 size, 1 background, 2 distractors, 3 object geometry — all class-independent —
    // and 4 the object's appearance, the only one whose use depends on the class.
    Stream size_rng(o.seed, key, 0), bg_rng(o.seed, key, 1), clutter_rng(o.seed, key, 2), geo(o.seed, key, 3),
        look(o.seed, key, 4);
    SynthImage out;
    out.label = label;
    const int w = size_rng.integer(o.min_side, o.max_side), h = size_rng.integer(o.min_side, o.max_side);
    out.image = Image(w, h);
    out.mask = GrayImage(w, h);
    draw_background(out.image, bg_rng, key);
    out.distractors = draw_distractors(out.image, clutter_rng, o);

    // Geometry: box area fraction, aspect (log-uniform 0.5..2), rotation, then a position that keeps
    // the rotated box inside the image (shrinking it when it cannot fit).
    const double frac = geo.uniform(o.min_area, o.max_area);
    const double aspect = std::exp(geo.uniform(std::log(0.5), std::log(2.0)));
    const double rot = geo.uniform(-20, 20) * kPi / 180;
    const double cs = std::cos(rot), sn = std::sin(rot);
    // Size the object so that the tight box of the *drawn shape* covers `frac` of the image: measure
    // the rotated shape's extent at unit scale on a fine grid of its own frame, then scale.
    const double uw = std::sqrt(aspect), uh = 1 / uw;  // unit-area box of this aspect
    double lo_x = 1e9, hi_x = -1e9, lo_y = 1e9, hi_y = -1e9;
    for (int j = 0; j < 96; ++j) {
        for (int i = 0; i < 96; ++i) {
            const double u = (i + 0.5) / 48 - 1, v = (j + 0.5) / 48 - 1;
            if (!inside(cls.shape, u, v)) continue;
            const double x = u * uw / 2 * cs - v * uh / 2 * sn, y = u * uw / 2 * sn + v * uh / 2 * cs;
            lo_x = std::min(lo_x, x), hi_x = std::max(hi_x, x), lo_y = std::min(lo_y, y), hi_y = std::max(hi_y, y);
        }
    }
    const double scale = std::sqrt(frac * w * h / ((hi_x - lo_x) * (hi_y - lo_y)));
    double bw = scale * uw, bh = scale * uh;
    double ex = 0.5 * (bw * std::fabs(cs) + bh * std::fabs(sn)), ey = 0.5 * (bw * std::fabs(sn) + bh * std::fabs(cs));
    const double fit = std::min({1.0, (w - 2) / (2 * ex), (h - 2) / (2 * ey)});
    bw *= fit, bh *= fit, ex *= fit, ey *= fit;
    const double cx = geo.uniform(ex + 1, w - ex - 1), cy = geo.uniform(ey + 1, h - ey - 1);

    // Appearance: the class's hue, texture and shape with per-image jitter.
    const double hue = kHues[cls.hue] + look.uniform(-0.025, 0.025);
    const Rgb base = hsv(hue, look.uniform(0.6, 1.0), look.uniform(0.6, 1.0));
    const Rgb second = hsv(hue + look.uniform(-0.03, 0.03), look.uniform(0.2, 0.5), look.uniform(0.15, 0.4));
    const double period = std::max(5.0, std::min(bw, bh) / look.uniform(3.5, 6.0));
    const double tex_angle = look.uniform(0.6, 1.0), tex_phase = look.uniform();
    const double light = look.uniform(0, 2 * kPi), light_strength = look.uniform(0.05, 0.2);
    const Rgb outline = mix(base, Rgb{}, look.uniform(0.55, 0.8));

    const int x0 = std::max(0, int(cx - ex - 1)), x1 = std::min(w - 1, int(cx + ex + 1));
    const int y0 = std::max(0, int(cy - ey - 1)), y1 = std::min(h - 1, int(cy + ey + 1));
    auto frame = [&](double x, double y, double& u, double& v, double& tu, double& tv) {
        const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
        tu = dx * cs + dy * sn;
        tv = -dx * sn + dy * cs;
        u = tu / (bw / 2);
        v = tv / (bh / 2);
    };
    auto in_object = [&](int x, int y) {
        if (x < 0 || y < 0 || x >= w || y >= h) return false;
        double u, v, tu, tv;
        frame(x, y, u, v, tu, tv);
        return inside(cls.shape, u, v);
    };
    int bx0 = w, by0 = h, bx1 = -1, by1 = -1;
    for (int y = y0; y <= y1; ++y) {
        for (int x = x0; x <= x1; ++x) {
            double u, v, tu, tv;
            frame(x, y, u, v, tu, tv);
            if (!inside(cls.shape, u, v)) continue;
            out.mask.pixels[size_t(y) * size_t(w) + size_t(x)] = 255;
            bx0 = std::min(bx0, x), bx1 = std::max(bx1, x), by0 = std::min(by0, y), by1 = std::max(by1, y);
            Rgb c = base;
            if (cls.texture == 4) {
                c = mix(base, second, 0.5 * (v + 1) * 0.8);
            } else if (texture_on(cls.texture, tu, tv, period, tex_angle, tex_phase)) {
                c = second;
            }
            const double shade = 1 + light_strength * (u * std::cos(light) + v * std::sin(light));
            // A two-pixel dark rim: object pixels with a non-object pixel within distance 2.
            const bool rim =
                !in_object(x - 2, y) || !in_object(x + 2, y) || !in_object(x, y - 2) || !in_object(x, y + 2);
            if (rim) c = outline;
            const double n =
                (double(hash3(uint32_t(key) ^ 0x55u, uint32_t(x), uint32_t(y)) >> 8) / 16777216.0 - 0.5) * 0.05;
            put(out.image, x, y, Rgb{c.r * shade + n, c.g * shade + n, c.b * shade + n});
        }
    }
    WSOL_CHECK(bx1 >= 0, "render_synth_image: the object of image ", key, " has no pixels (image ", w, "x", h, ")");
    out.box = Box{double(bx0), double(by0), double(bx1), double(by1)};
    return out;
}

}  // namespace wsol::data
