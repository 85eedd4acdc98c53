// .npy reader/writer: files written by real numpy (tools/reference/eval_npy_fixtures.py), round
// trips, and every malformed-input error path the parser has.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/file_util.h"
#include "engine/npy.h"
#include "support/testing.h"

namespace wsol {
namespace {

std::string npy_fixture(const std::string& name) { return testing::fixture_path("eval/npy/" + name); }

// The fill formulas of eval_npy_fixtures.py, by C-order flat index k.
double float_value(int64_t k) { return double(k) * 0.25 - 1.5; }
int64_t int_value(int64_t k) { return k * 3 - 7; }
uint8_t u8_value(int64_t k) { return uint8_t((k * 37) % 256); }

TEST(Npy, ReadsNumpyFloat32) {
    Tensor t = load_npy(npy_fixture("f32_2x3.npy"));
    EXPECT_EQ(t.dtype(), kFloat32);
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    const auto v = t.to_vector<float>();
    for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(v[size_t(k)], float(float_value(k)));
}

TEST(Npy, ReadsEveryDtype) {
    struct Case {
        const char* file;
        DType dtype;
        Shape shape;
    };
    const Case cases[] = {{"f64_4.npy", kFloat64, {4}},       {"f16_3x2.npy", kFloat16, {3, 2}},
                          {"i32_2x2x2.npy", kInt32, {2, 2, 2}}, {"i64_5.npy", kInt64, {5}},
                          {"u8_3x5.npy", kUInt8, {3, 5}},     {"bool_7.npy", kBool, {7}}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.file);
        Tensor t = load_npy(npy_fixture(c.file));
        ASSERT_EQ(t.dtype(), c.dtype);
        ASSERT_EQ(t.shape(), c.shape);
        const auto v = t.to_vector<double>();
        for (int64_t k = 0; k < t.numel(); ++k) {
            double expected = 0;
            switch (c.dtype) {
                case kFloat64:
                case kFloat16: expected = float_value(k); break;  // all exact in float16 too
                case kInt32:
                case kInt64: expected = double(int_value(k)); break;
                case kUInt8: expected = u8_value(k); break;
                case kBool: expected = k % 3 == 0 ? 1.0 : 0.0; break;
                default: FAIL();
            }
            EXPECT_EQ(v[size_t(k)], expected) << "k=" << k;
        }
    }
}

TEST(Npy, ReadsScalarAndEmpty) {
    Tensor s = load_npy(npy_fixture("f64_scalar.npy"));
    EXPECT_EQ(s.dim(), 0);
    EXPECT_EQ(s.item<double>(), 2.5);
    Tensor e = load_npy(npy_fixture("f32_empty_0x3.npy"));
    EXPECT_EQ(e.shape(), (Shape{0, 3}));
    EXPECT_EQ(e.numel(), 0);
}

TEST(Npy, ReadsFortranOrderAsTheSameLogicalArray) {
    Tensor t = load_npy(npy_fixture("f64_fortran_3x4x2.npy"));
    EXPECT_EQ(t.shape(), (Shape{3, 4, 2}));
    EXPECT_TRUE(t.is_contiguous());
    const auto v = t.to_vector<double>();
    for (int64_t k = 0; k < 24; ++k) EXPECT_EQ(v[size_t(k)], float_value(k));
    Tensor u = load_npy(npy_fixture("u8_fortran_2x3.npy"));
    const auto w = u.to_vector<uint8_t>();
    for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(w[size_t(k)], u8_value(k));
}

TEST(Npy, ReadsFormatVersions2And3) {
    for (const char* name : {"f32_v2_2x3.npy", "f32_v3_2x3.npy"}) {
        Tensor t = load_npy(npy_fixture(name));
        EXPECT_EQ(t.shape(), (Shape{2, 3})) << name;
        EXPECT_EQ(t.to_vector<float>()[5], float(float_value(5))) << name;
    }
}

TEST(Npy, RejectsWhatItCannotRepresent) {
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("reject_f4_bigendian.npy")), "'>f4' is big-endian");
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("reject_object.npy")), "object arrays");
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("reject_structured.npy")), "structured dtypes are not supported");
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("reject_int8.npy")), "'|i1' is not supported");
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("reject_complex.npy")), "'<c8' is not supported");
    // Errors name the file.
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("reject_int8.npy")), "reject_int8.npy");
    EXPECT_WSOL_ERROR(load_npy(npy_fixture("does_not_exist.npy")), "does_not_exist.npy: cannot open");
}

TEST(Npy, WritesWhatNumpyWrites) {
    // numpy.save of the same array gives byte-identical output (header layout, padding, data).
    Tensor t = Tensor::from_vector<float>({-1.5f, -1.25f, -1.0f, -0.75f, -0.5f, -0.25f}, {2, 3});
    EXPECT_EQ(serialize_npy(t), read_file(npy_fixture("f32_2x3.npy")));
    Tensor b = Tensor::from_vector<bool>({true, false, false, true, false, false, true}, {7});
    EXPECT_EQ(serialize_npy(b), read_file(npy_fixture("bool_7.npy")));
    EXPECT_EQ(serialize_npy(load_npy(npy_fixture("f64_scalar.npy"))), read_file(npy_fixture("f64_scalar.npy")));
    EXPECT_EQ(serialize_npy(load_npy(npy_fixture("i64_5.npy"))), read_file(npy_fixture("i64_5.npy")));
    EXPECT_EQ(serialize_npy(load_npy(npy_fixture("f32_empty_0x3.npy"))),
              read_file(npy_fixture("f32_empty_0x3.npy")));
}

TEST(Npy, RoundTripsStridedTensorsAtomically) {
    const std::string dir = ::testing::TempDir();
    const std::string path = dir + "/wsol_npy_roundtrip_" + std::to_string(::getpid()) + ".npy";
    Tensor base = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor transposed = base.as_strided({3, 2}, {1, 3}, 0);  // a non-contiguous view
    save_npy(path, transposed);
    Tensor back = load_npy(path);
    EXPECT_EQ(back.shape(), (Shape{3, 2}));
    EXPECT_EQ(back.to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
    // No temporary files are left beside the destination.
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        EXPECT_EQ(entry.path().filename().string().find("wsol_npy_roundtrip_" + std::to_string(::getpid()) + ".npy.tmp"),
                  std::string::npos);
    }
    std::remove(path.c_str());
    EXPECT_WSOL_ERROR(serialize_npy(Tensor::zeros({2}, kBFloat16)), "bfloat16 has no NumPy equivalent");
}

TEST(Npy, LargeHeaderUsesVersion2) {
    // A shape with many dimensions does not make the header exceed 65535 bytes, so build the case
    // by hand: a version 2.0 header of 70000 bytes of padding is still read.
    std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }";
    dict.append(70000, ' ');
    dict += '\n';
    std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
    const uint32_t n = uint32_t(dict.size());
    for (int i = 0; i < 4; ++i) bytes += char((n >> (8 * i)) & 0xff);
    bytes += dict;
    bytes += std::string("\x05\x00\x00\x00", 4);
    EXPECT_EQ(parse_npy(bytes, "big").item<int32_t>(), 5);
}

// Builds a version 1.0 file from a header dict and raw data bytes.
std::string npy_bytes(const std::string& dict, const std::string& data) {
    std::string out = std::string("\x93NUMPY\x01\x00", 8);
    out += char(dict.size() & 0xff);
    out += char((dict.size() >> 8) & 0xff);
    return out + dict + data;
}

TEST(Npy, ParsesHeaderVariants) {
    const std::string four(16, '\0');
    // Double quotes, keys in any order, no trailing comma, extra whitespace, newline padding.
    EXPECT_EQ(parse_npy(npy_bytes("{\"shape\":(2,2),\"descr\":\"<f4\",\"fortran_order\":False}\n", four), "t")
                  .shape(),
              (Shape{2, 2}));
    EXPECT_EQ(parse_npy(npy_bytes("{ 'descr' : '<i4' , 'fortran_order' : False , 'shape' : ( 4 , ) , }   \n", four),
                        "t")
                  .numel(),
              4);
    EXPECT_EQ(parse_npy(npy_bytes("{'descr': '=i4', 'fortran_order': False, 'shape': (4L,), }", four), "t").numel(),
              4);
    EXPECT_EQ(parse_npy(npy_bytes("{'descr': '<u1', 'fortran_order': True, 'shape': (4, 4), }", std::string(16, 'x')),
                        "t")
                  .dtype(),
              kUInt8);
}

TEST(Npy, RejectsMalformedFiles) {
    const std::string good = read_file(npy_fixture("f32_2x3.npy"));
    auto with = [&](size_t at, char c) {
        std::string b = good;
        b[at] = c;
        return b;
    };
    EXPECT_WSOL_ERROR(parse_npy("", "empty.npy"), "empty.npy: not a .npy file");
    EXPECT_WSOL_ERROR(parse_npy(with(1, 'X'), "m.npy"), "m.npy: not a .npy file");
    EXPECT_WSOL_ERROR(parse_npy(with(6, '\x04'), "v.npy"), "unsupported .npy format version 4.0");
    EXPECT_WSOL_ERROR(parse_npy(with(7, '\x01'), "v.npy"), "unsupported .npy format version 1.1");
    EXPECT_WSOL_ERROR(parse_npy(good.substr(0, 9), "t.npy"), "truncated inside the header length");
    EXPECT_WSOL_ERROR(parse_npy(good.substr(0, 40), "t.npy"), "runs past the end of the file");
    EXPECT_WSOL_ERROR(parse_npy(good.substr(0, good.size() - 1), "t.npy"), "needs 24 bytes of data but the file has 23 "
                      "(truncated)");
    EXPECT_WSOL_ERROR(parse_npy(good + "x", "t.npy"), "(trailing bytes)");

    const std::string data(24, '\0');
    auto bad = [&](const std::string& dict, const std::string& fragment) {
        EXPECT_WSOL_ERROR(parse_npy(npy_bytes(dict, data), "h.npy"), fragment);
    };
    bad("", "h.npy: npy header: expected '{'");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", "expected a quoted key");
    bad("{'descr': '<f4' 'fortran_order': False}", "expected ',' or '}'");
    bad("{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3)}", "expected ':'");
    bad("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}", "unsupported value");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", "unsupported value");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')'");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", "'shape' must be a tuple");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "'shape' must be a tuple");
    bad("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", "'fortran_order' must be True or False");
    bad("{'descr': 4, 'fortran_order': False, 'shape': (2, 3)}", "'descr' is not a type string");
    bad("{'descr': '<f4', 'shape': (2, 3)}", "lacks 'fortran_order'");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", "unexpected key 'extra'");
    bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "the key 'descr' twice");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", "unexpected text after the dict");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4)}", "needs 32 bytes of data but the file has 24");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "integer too large");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", "overflows");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 'a\\'b'}", "escape sequences");
    bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 'abc", "unterminated string");
    bad("{'descr': 'f', 'fortran_order': False, 'shape': (2, 3)}", "is not a simple type string");
    bad("{'descr': '>i8', 'fortran_order': False, 'shape': (3,)}", "'>i8' is big-endian");
    // A type string without a byte-order mark means native order, as in numpy.dtype('f4').
    EXPECT_EQ(parse_npy(npy_bytes("{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3)}", data), "t").dtype(),
              kFloat32);
}

}  // namespace
}  // namespace wsol
