// safetensors (engine/safetensors.h) with the dtypes beyond float32/float64/int64: bfloat16, float16, int32, uint8
// and bool. Oracles: the format's specification (../shared/reference/checkpoints.md, section 4: dtype strings
// "BF16", "F16", "I32", "U8", "BOOL", little-endian row-major data) - a hand-built file is read, and the header our
// writer produces is inspected byte by byte - and exact bit patterns through a write/read round trip.
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "support/testing.h"

namespace wsol {
namespace {

// 16-bit float values from their bit patterns, and back.
template <class Half>
std::vector<Half> halves_from_bits(const std::vector<uint16_t>& bits) {
    std::vector<Half> out(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) out[i].bits = bits[i];
    return out;
}

template <class Half>
std::vector<uint16_t> bits_of(const Tensor& t) {
    std::vector<uint16_t> out;
    for (const Half& h : t.to_vector<Half>()) out.push_back(h.bits);
    return out;
}

// Bit patterns worth keeping exactly: +-0, ordinary values, the extremes, the smallest subnormal, +-inf, a quiet NaN.
const std::vector<uint16_t> kBFloat16Bits = {0x0000, 0x8000, 0x3f80, 0xc020, 0x7f7f, 0x0001, 0x7f80, 0xff80, 0x7fc0};
const std::vector<uint16_t> kFloat16Bits = {0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e00};
const std::vector<int32_t> kInt32Values = {
    0, -1, 1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 123456789};

// The JSON header of serialized safetensors bytes: the 8-byte little-endian length, then that many bytes.
std::string header_of(const std::string& bytes) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    return bytes.substr(8, size_t(n));
}

// The header's entry of tensor `name`, from "name":{ to its closing brace (entries hold no nested objects);
// empty when absent.
std::string entry_of(const std::string& header, const std::string& name) {
    const std::string key = "\"" + name + "\":{";
    const size_t begin = header.find(key);
    if (begin == std::string::npos) return "";
    const size_t end = header.find('}', begin);
    return end == std::string::npos ? "" : header.substr(begin, end - begin + 1);
}

// The first number of the entry's data_offsets (where its bytes begin), or -1 when it cannot be found.
int64_t data_begin_of(const std::string& entry) {
    const std::string key = "\"data_offsets\":[";
    const size_t at = entry.find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(entry.substr(at + key.size()));
}

NamedTensors dtype_tensors() {
    return {
        {"bf16", Tensor::from_vector(halves_from_bits<BFloat16>(kBFloat16Bits), {3, 3})},
        {"f16", Tensor::from_vector(halves_from_bits<Float16>(kFloat16Bits), {9})},
        {"i32", Tensor::from_vector(kInt32Values, {2, 3})},
        {"i32_scalar", Tensor::scalar<int32_t>(-7)},
        {"u8", Tensor::from_vector<uint8_t>({0, 1, 127, 128, 255}, {5})},
        {"flags", Tensor::from_vector<bool>({true, false, false, true}, {2, 2})},
        {"f16_empty", Tensor::empty({0, 4}, kFloat16)},
        // A transposed bf16 view: stored contiguous, in its logical (row-major) order.
        {"bf16_t",
         Tensor::from_vector(halves_from_bits<BFloat16>({0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0}), {2, 3})
             .as_strided({3, 2}, {1, 3}, 0)},
        // A float32 tensor among them, so the writer has element sizes 4, 2 and 1 to order and align.
        {"f32", Tensor::from_vector<float>({1.5f, -2.0f}, {2})},
    };
}

// Every dtype survives serialize -> parse with its dtype, shape and exact bits (NaN payloads and -0 included).
TEST(SafetensorsDtypes, RoundTripKeepsDtypeShapeAndBits) {
    const TensorFile file = parse_safetensors(serialize_safetensors(dtype_tensors()), "memory");
    EXPECT_EQ(file.tensors.size(), 9u);

    const Tensor bf16 = file.at("bf16");
    EXPECT_EQ(bf16.dtype(), kBFloat16);
    EXPECT_EQ(bf16.shape(), (Shape{3, 3}));
    EXPECT_EQ(bits_of<BFloat16>(bf16), kBFloat16Bits);

    const Tensor f16 = file.at("f16");
    EXPECT_EQ(f16.dtype(), kFloat16);
    EXPECT_EQ(f16.shape(), (Shape{9}));
    EXPECT_EQ(bits_of<Float16>(f16), kFloat16Bits);

    EXPECT_EQ(file.at("i32").dtype(), kInt32);
    EXPECT_EQ(file.at("i32").shape(), (Shape{2, 3}));
    EXPECT_EQ(file.at("i32").to_vector<int32_t>(), kInt32Values);
    EXPECT_EQ(file.at("i32_scalar").dtype(), kInt32);
    EXPECT_EQ(file.at("i32_scalar").shape(), Shape{});
    EXPECT_EQ(file.at("i32_scalar").item<int32_t>(), -7);

    EXPECT_EQ(file.at("u8").dtype(), kUInt8);
    EXPECT_EQ(file.at("u8").to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 127, 128, 255}));
    EXPECT_EQ(file.at("flags").dtype(), kBool);
    EXPECT_EQ(file.at("flags").shape(), (Shape{2, 2}));
    EXPECT_EQ(file.at("flags").to_vector<bool>(), (std::vector<bool>{true, false, false, true}));

    EXPECT_EQ(file.at("f16_empty").dtype(), kFloat16);
    EXPECT_EQ(file.at("f16_empty").shape(), (Shape{0, 4}));

    EXPECT_EQ(file.at("bf16_t").shape(), (Shape{3, 2}));
    EXPECT_EQ(bits_of<BFloat16>(file.at("bf16_t")),
              (std::vector<uint16_t>{0x3f80, 0x4080, 0x4000, 0x40a0, 0x4040, 0x40c0}));  // 1 4 2 5 3 6
    EXPECT_EQ(file.at("f32").to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
}

// The same through a file on disk (save_safetensors writes atomically, load_safetensors reads it back).
TEST(SafetensorsDtypes, RoundTripThroughAFile) {
    const std::string path = ::testing::TempDir() + "/wsol_dtypes.safetensors";
    save_safetensors(path, dtype_tensors(), {{"format", "pt"}});
    const TensorFile file = load_safetensors(path);
    EXPECT_EQ(file.metadata.at("format"), "pt");
    EXPECT_EQ(bits_of<BFloat16>(file.at("bf16")), kBFloat16Bits);
    EXPECT_EQ(bits_of<Float16>(file.at("f16")), kFloat16Bits);
    EXPECT_EQ(file.at("i32").to_vector<int32_t>(), kInt32Values);
    EXPECT_EQ(file.at("flags").to_vector<bool>(), (std::vector<bool>{true, false, false, true}));
    std::remove(path.c_str());
}

// The header our writer produces names the dtypes with the specification's strings, gives the shapes, and places
// every tensor at an offset that is a multiple of its element size, with the data buffer 8-byte aligned (the
// reference writer's layout: larger elements first, the header padded with spaces).
TEST(SafetensorsDtypes, HeaderUsesTheSpecificationsDtypeStrings) {
    const std::string bytes = serialize_safetensors(dtype_tensors());
    const std::string header = header_of(bytes);
    EXPECT_EQ((8 + header.size()) % 8, 0u);
    const struct {
        const char* name;
        const char* dtype;
        const char* shape;
        int64_t element_size;
    } expected[] = {
        {"bf16", "BF16", "[3,3]", 2},     {"f16", "F16", "[9]", 2},       {"i32", "I32", "[2,3]", 4},
        {"i32_scalar", "I32", "[]", 4},   {"u8", "U8", "[5]", 1},         {"flags", "BOOL", "[2,2]", 1},
        {"f16_empty", "F16", "[0,4]", 2}, {"bf16_t", "BF16", "[3,2]", 2}, {"f32", "F32", "[2]", 4},
    };
    for (const auto& e : expected) {
        SCOPED_TRACE(e.name);
        const std::string entry = entry_of(header, e.name);
        ASSERT_FALSE(entry.empty()) << "no entry in header: " << header;
        EXPECT_NE(entry.find(std::string("\"dtype\":\"") + e.dtype + "\""), std::string::npos) << entry;
        EXPECT_NE(entry.find(std::string("\"shape\":") + e.shape), std::string::npos) << entry;
        const int64_t begin = data_begin_of(entry);
        ASSERT_GE(begin, 0) << entry;
        EXPECT_EQ(begin % e.element_size, 0) << entry;
    }
    // safetensors_dtype_name, which the writer uses, gives the same strings.
    EXPECT_STREQ(safetensors_dtype_name(kBFloat16), "BF16");
    EXPECT_STREQ(safetensors_dtype_name(kFloat16), "F16");
    EXPECT_STREQ(safetensors_dtype_name(kInt32), "I32");
    EXPECT_STREQ(safetensors_dtype_name(kUInt8), "U8");
    EXPECT_STREQ(safetensors_dtype_name(kBool), "BOOL");
}

// A file written by hand from the specification (not by our writer): the reader maps the dtype strings and takes
// the data as little-endian. BF16 0x3f80 = 1, 0xc020 = -2.5, 0x7f80 = inf; F16 0x3c00 = 1, 0xc100 = -2.5,
// 0x0001 = 2^-24; I32 bytes fe ff ff ff = -2, 78 56 34 12 = 0x12345678.
TEST(SafetensorsDtypes, ReadsAHandBuiltFile) {
    const std::string json = R"({"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},)"
                             R"("h":{"dtype":"F16","shape":[3],"data_offsets":[6,12]},)"
                             R"("i":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},)"
                             R"("u":{"dtype":"U8","shape":[2],"data_offsets":[20,22]},)"
                             R"("z":{"dtype":"BOOL","shape":[2],"data_offsets":[22,24]}})";
    const unsigned char data[] = {
        0x80, 0x3f, 0x20, 0xc0, 0x80, 0x7f,              // b
        0x00, 0x3c, 0x00, 0xc1, 0x01, 0x00,              // h
        0xfe, 0xff, 0xff, 0xff, 0x78, 0x56, 0x34, 0x12,  // i
        0x00, 0xff,                                      // u
        0x01, 0x00,                                      // z
    };
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((json.size() >> (8 * i)) & 0xff);
    bytes += json;
    bytes.append(reinterpret_cast<const char*>(data), sizeof(data));

    const TensorFile file = parse_safetensors(bytes, "hand-built");
    EXPECT_EQ(file.at("b").dtype(), kBFloat16);
    EXPECT_EQ(file.at("b").to_vector<float>(),
              (std::vector<float>{1.0f, -2.5f, std::numeric_limits<float>::infinity()}));
    EXPECT_EQ(file.at("h").dtype(), kFloat16);
    EXPECT_EQ(file.at("h").to_vector<float>(), (std::vector<float>{1.0f, -2.5f, 0x1p-24f}));
    EXPECT_EQ(file.at("i").dtype(), kInt32);
    EXPECT_EQ(file.at("i").to_vector<int32_t>(), (std::vector<int32_t>{-2, 0x12345678}));
    EXPECT_EQ(file.at("u").dtype(), kUInt8);
    EXPECT_EQ(file.at("u").to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255}));
    EXPECT_EQ(file.at("z").dtype(), kBool);
    EXPECT_EQ(file.at("z").to_vector<bool>(), (std::vector<bool>{true, false}));
    // Our writer produces the same data bytes for these values (after its header; b before h, by name).
    const std::string halves = serialize_safetensors({{"b", file.at("b")}, {"h", file.at("h")}});
    EXPECT_EQ(halves.substr(halves.size() - 12), std::string(reinterpret_cast<const char*>(data), 12));
    const std::string ints = serialize_safetensors({{"i", file.at("i")}});
    EXPECT_EQ(ints.substr(ints.size() - 8), std::string(reinterpret_cast<const char*>(data) + 12, 8));
}

}  // namespace
}  // namespace wsol
