#include <cstdio>

#include "engine/philox.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::all_close;

TEST(DType, SizesAndNames) {
    EXPECT_EQ(dtype_size(kBFloat16), 2u);
    EXPECT_EQ(dtype_size(kInt64), 8u);
    EXPECT_EQ(dtype_from_name("float16"), kFloat16);
    EXPECT_WSOL_ERROR(dtype_from_name("float8"), "unknown dtype name 'float8'");
}

TEST(DType, BFloat16RoundsToNearestEven) {
    // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even one (1).
    EXPECT_EQ(float(BFloat16(1.0f + 0x1p-8f)), 1.0f);
    // 1 + 3*2^-8 lies between 1 + 2^-7 and 1 + 2^-6: ties to even gives 1 + 2^-6.
    EXPECT_EQ(float(BFloat16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
    EXPECT_TRUE(std::isnan(float(BFloat16(NAN))));
    EXPECT_EQ(float(BFloat16(-2.5f)), -2.5f);
}

TEST(DType, Float16MatchesIeee) {
    EXPECT_EQ(float(Float16(1.0f)), 1.0f);
    EXPECT_EQ(Float16(1.0f).bits, 0x3c00);
    EXPECT_EQ(Float16(65504.0f).bits, 0x7bff);      // largest finite
    EXPECT_EQ(Float16(65520.0f).bits, 0x7c00);      // rounds to infinity
    EXPECT_EQ(Float16(0x1p-24f).bits, 0x0001);      // smallest subnormal
    EXPECT_EQ(Float16(0x1p-25f).bits, 0x0000);      // half of it: ties to even (zero)
    EXPECT_EQ(float(Float16(0x1p-24f)), 0x1p-24f);
    EXPECT_EQ(Float16(-0.0f).bits, 0x8000);
    EXPECT_EQ(float(Float16(1.0f + 0x1p-10f)), 1.0f + 0x1p-10f);
    // Every half value survives a round trip through float.
    for (uint32_t bits = 0; bits < 0x10000; ++bits) {
        Float16 h;
        h.bits = uint16_t(bits);
        const float f = float(h);
        if (std::isnan(f)) continue;
        ASSERT_EQ(Float16(f).bits, bits) << "bits " << bits;
    }
}

TEST(Device, Parse) {
    EXPECT_EQ(Device::parse("cpu"), kCPU);
    EXPECT_EQ(Device::parse("cuda:1"), Device(DeviceType::CUDA, 1));
    EXPECT_EQ(Device::parse("cuda").str(), "cuda:0");
    EXPECT_WSOL_ERROR(Device::parse("gpu"), "bad device 'gpu'");
    EXPECT_WSOL_ERROR(Device::parse("cuda:x"), "bad device");
}

TEST(Shape, Broadcast) {
    EXPECT_EQ(broadcast_shapes({4, 1, 3}, {5, 3}, "t"), (Shape{4, 5, 3}));
    EXPECT_EQ(broadcast_shapes({}, {2}, "t"), (Shape{2}));
    EXPECT_WSOL_ERROR(broadcast_shapes({2, 3}, {4}, "add"), "add: shapes (2,3) and (4) cannot be broadcast");
}

TEST(Tensor, FactoriesAndMetadata) {
    Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.strides(), (Strides{3, 1}));
    EXPECT_EQ(t.numel(), 6);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.size(-1), 3);
    EXPECT_WSOL_ERROR(t.size(2), "axis 2 is out of range");
    EXPECT_WSOL_ERROR(t.data<double>(), "Tensor::data<float64>() on a float32 tensor");
    EXPECT_WSOL_ERROR(Tensor::from_vector<float>({1, 2}, {3}), "2 values for shape (3)");
    Tensor z = Tensor::zeros({3}, kInt64);
    EXPECT_EQ(z.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
    EXPECT_EQ(Tensor::scalar<double>(2.5).item<float>(), 2.5f);
    EXPECT_EQ(uintptr_t(t.raw_data()) % 64, 0u);  // 64-byte aligned storage
}

TEST(Tensor, AsStridedStaysInsideStorage) {
    Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor col = t.as_strided({2}, {3}, 1);  // second column
    EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{2, 5}));
    EXPECT_FALSE(t.as_strided({3, 2}, {1, 3}, 0).is_contiguous());
    EXPECT_WSOL_ERROR(t.as_strided({3}, {3}, 1), "reaches outside a storage of 6 elements");
}

TEST(Tensor, CopyConvertsAndBroadcasts) {
    Tensor src = Tensor::from_vector<double>({1.5, -2.5}, {2, 1});
    Tensor dst = Tensor::empty({2, 3}, kInt32);
    copy_into(dst, src);
    EXPECT_EQ(dst.to_vector<int32_t>(), (std::vector<int32_t>{1, 1, 1, -2, -2, -2}));
    Tensor b = Tensor::empty({2}, kBFloat16);
    copy_into(b, Tensor::from_vector<float>({1.0f, 3.0f}, {2}));
    EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{1.0f, 3.0f}));
    EXPECT_WSOL_ERROR(copy_into(Tensor::empty({3}), Tensor::empty({2})), "does not broadcast");
}

TEST(Tensor, PrintsLikePyTorch) {
    Tensor t = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
    EXPECT_EQ(t.str(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])");
    EXPECT_EQ(Tensor::from_vector<int32_t>({7}, {1}).str(), "tensor([7], dtype=int32)");
    Tensor big = Tensor::zeros({2000});
    EXPECT_NE(big.str().find("..."), std::string::npos);
}

TEST(Philox, KnownAnswer) {
    // Random123's published known-answer test for philox4x32-10: counter = 0, key = 0.
    const philox::Block b = philox::generate(0, 0);
    EXPECT_EQ(b.x[0], 0x6627e8d5u);
    EXPECT_EQ(b.x[1], 0xe169c58du);
    EXPECT_EQ(b.x[2], 0xbc57ac4cu);
    EXPECT_EQ(b.x[3], 0x9b00dbd8u);
    // The second published vector (digits of pi as counter and key).
    const philox::Block pi = philox::philox4x32_10(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u,
                                                   0x299f31d0u);
    EXPECT_EQ(pi.x[0], 0xd16cfe09u);
    EXPECT_EQ(pi.x[1], 0x94fdccebu);
    EXPECT_EQ(pi.x[2], 0x5001e420u);
    EXPECT_EQ(pi.x[3], 0x24126ea1u);
}

TEST(Generator, StreamsDependOnlyOnSeedAndOrder) {
    Generator a(42), b(42);
    const uint64_t first = a.reserve(10);
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(a.offset(), 3u);  // ceil(10 / 4) counters
    b.reserve(10);
    EXPECT_EQ(philox::uniform(42, a.reserve(4), 0), philox::uniform(42, b.reserve(4), 0));
}

TEST(Safetensors, RoundTripAllDtypes) {
    NamedTensors tensors = {
        {"w", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})},
        {"d", Tensor::from_vector<double>({0.25}, {})},
        {"i", Tensor::from_vector<int64_t>({-1, 7}, {2})},
        {"u", Tensor::from_vector<uint8_t>({255}, {1})},
        {"b", Tensor::from_vector<bool>({true, false}, {2})},
        {"h", Tensor::from_vector<float>({0.5f}, {1})},
        {"empty", Tensor::empty({0, 3})},
    };
    // A strided tensor is stored contiguous.
    tensors.emplace_back("t", Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}).as_strided({2, 2}, {1, 2}, 0));
    const std::string bytes = serialize_safetensors(tensors, {{"format", "pt"}});
    const uint64_t header_len = uint8_t(bytes[0]) | uint64_t(uint8_t(bytes[1])) << 8;
    EXPECT_EQ((8 + header_len) % 8, 0u);  // the data buffer starts 8-byte aligned
    TensorFile file = parse_safetensors(bytes, "memory");
    EXPECT_EQ(file.metadata.at("format"), "pt");
    EXPECT_EQ(file.at("w").to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(file.at("d").shape(), Shape{});
    EXPECT_EQ(file.at("i").to_vector<int64_t>(), (std::vector<int64_t>{-1, 7}));
    EXPECT_EQ(file.at("b").dtype(), kBool);
    EXPECT_EQ(file.at("t").to_vector<float>(), (std::vector<float>{1, 3, 2, 4}));
    EXPECT_EQ(file.at("empty").shape(), (Shape{0, 3}));
    EXPECT_WSOL_ERROR(file.at("nope"), "memory: no tensor named 'nope'");
}

TEST(Safetensors, RejectsBadFiles) {
    const std::string good = serialize_safetensors({{"a", Tensor::from_vector<float>({1, 2}, {2})}});
    EXPECT_WSOL_ERROR(parse_safetensors(good.substr(0, 4), "f"), "not a safetensors file");
    EXPECT_WSOL_ERROR(parse_safetensors(good.substr(0, good.size() - 1), "f"), "truncated or trailing");
    std::string huge = good;
    huge[7] = char(0x7f);
    EXPECT_WSOL_ERROR(parse_safetensors(huge, "f"), "exceeds the limit");
    auto with_header = [](const std::string& json, size_t data_bytes) {
        std::string out(8, '\0');
        for (int i = 0; i < 8; ++i) out[size_t(i)] = char((json.size() >> (8 * i)) & 0xff);
        return out + json + std::string(data_bytes, '\0');
    };
    EXPECT_WSOL_ERROR(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                                    R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8), "f"),
                      "appears twice");
    EXPECT_WSOL_ERROR(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "f"),
                      "needs 12 bytes");
    EXPECT_WSOL_ERROR(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "f"),
                      "starts at data offset 4, expected 0");
    EXPECT_WSOL_ERROR(parse_safetensors(with_header(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", 8), "f"),
                      "dtype C64");
    EXPECT_WSOL_ERROR(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "f"),
                      "non-negative");
    EXPECT_WSOL_ERROR(parse_safetensors(with_header("[1,2]", 0), "f"), "not a JSON object");
    EXPECT_WSOL_ERROR(parse_safetensors(with_header("{\"a\":", 0), "f"), "not valid JSON");
    EXPECT_WSOL_ERROR(load_safetensors("/nonexistent/x.safetensors"), "/nonexistent/x.safetensors: cannot open");
}

TEST(Safetensors, SaveIsAtomic) {
    const std::string path = ::testing::TempDir() + "/wsol_atomic.safetensors";
    save_safetensors(path, {{"x", Tensor::from_vector<float>({3}, {1})}});
    EXPECT_EQ(load_safetensors(path).at("x").item<float>(), 3.0f);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace wsol
