// Reading PyTorch checkpoints in all three containers. The oracle is torch.load:
// tools/reference/checkpoints.py writes the .pth fixtures with real torch (or, for the tar format
// torch can no longer write, by hand following the old layout, then checked by torch.load) and
// stores what torch.load returned in expected.safetensors, with each state dict's key order in its
// metadata. Bad files must fail with a wsol::Error naming the file and the problem.
#include <cstring>
#include <sstream>

#include "engine/file_util.h"
#include "engine/pth.h"
#include "support/testing.h"

namespace wsol {
namespace {

using testing::fixture_path;
using Kind = PyValue::Kind;

std::string ckpt(const std::string& name) { return fixture_path("checkpoints/" + name); }

const TensorFile& expected() {
    static const TensorFile file = load_safetensors(ckpt("expected.safetensors"));
    return file;
}

// Same dtype, shape and bytes (compared on packed copies; NaN bits included).
::testing::AssertionResult identical(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
        return ::testing::AssertionFailure() << dtype_name(a.dtype()) << shape_str(a.shape()) << " vs "
                                             << dtype_name(b.dtype()) << shape_str(b.shape());
    }
    Tensor pa = Tensor::empty(a.shape(), a.dtype()), pb = Tensor::empty(b.shape(), b.dtype());
    copy_into(pa, a);
    copy_into(pb, b);
    const size_t n = size_t(pa.numel()) * pa.element_size();
    if (n == 0 || std::memcmp(pa.raw_data(), pb.raw_data(), n) == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "values differ: " << a.str() << " vs " << b.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Every tensor of the state dict equals torch.load's, bit for bit, in torch.load's key order.
void expect_matches_torch(const std::string& stem, PthContainer container) {
    SCOPED_TRACE(stem);
    const PthFile file = read_pth(ckpt(stem + ".pth"));
    EXPECT_EQ(file.container, container);
    const NamedTensors sd = pth_state_dict(file.object, file.source);
    const std::vector<std::string> order = split_lines(expected().metadata.at(stem));
    ASSERT_EQ(sd.size(), order.size());
    for (size_t i = 0; i < sd.size(); ++i) {
        const auto& [name, tensor] = sd[i];
        EXPECT_EQ(name, order[i]);
        const Tensor& want = expected().at(stem + "/" + name);
        EXPECT_TRUE(identical(tensor, want)) << name;
    }
}

TEST(Pth, ZipWithModelWrapper) { expect_matches_torch("vit_zip", PthContainer::Zip); }
TEST(Pth, LegacyStreamSatStyle) { expect_matches_torch("sat_legacy", PthContainer::Legacy); }
TEST(Pth, TarPython3) { expect_matches_torch("vit_tar", PthContainer::Tar); }
TEST(Pth, TarPython2) { expect_matches_torch("resnet_tar_py2", PthContainer::Tar); }
TEST(Pth, ViewsAndDtypesZip) { expect_matches_torch("views_zip", PthContainer::Zip); }
TEST(Pth, ViewsAndDtypesLegacy) { expect_matches_torch("views_legacy", PthContainer::Legacy); }
TEST(Pth, DeflatedZip) { expect_matches_torch("views_deflated", PthContainer::Zip); }
TEST(Pth, Zip64) { expect_matches_torch("views_zip64", PthContainer::Zip); }
TEST(Pth, RebuildTensorV3OverRawBytes) { expect_matches_torch("v3_untyped", PthContainer::Zip); }

TEST(Pth, DeitKeyStructure) {
    // The tiny ViT has DeiT's key structure (checkpoints.md 5.2), under "model".
    const NamedTensors sd = load_pth_state_dict(ckpt("vit_zip.pth"));
    ASSERT_EQ(sd.size(), 32u);
    EXPECT_EQ(sd[0].first, "cls_token");
    EXPECT_EQ(sd[0].second.shape(), (Shape{1, 1, 8}));
    EXPECT_EQ(sd[1].first, "pos_embed");
    EXPECT_EQ(sd[2].first, "patch_embed.proj.weight");
    EXPECT_EQ(sd[2].second.shape(), (Shape{8, 3, 4, 4}));
    EXPECT_EQ(sd[6].first, "blocks.0.attn.qkv.weight");
    EXPECT_EQ(sd[30].first, "head.weight");
}

TEST(Pth, SatWrapperEntries) {
    const PthFile file = read_pth(ckpt("sat_legacy.pth"));
    // Values set by the fixture script: best_thr 0.4, epoch 30, an argparse.Namespace.
    EXPECT_EQ(file.object.get("best_thr")->as_float(), 0.4);
    EXPECT_EQ(file.object.get("epoch")->as_int(), 30);
    EXPECT_EQ(file.object.get("args")->repr(),
              "Namespace(lr=0.0001, arch='deit_sat_small_patch16_224', threshold=[0.3, 0.35])");
    const NamedTensors sd = pth_state_dict(file.object, file.source);
    EXPECT_EQ(sd[0].first, "module.cls_token");
    // Storages were tagged cuda:0 (SAT trains on GPUs); they load to the CPU all the same.
    const PyValue* cls = file.object.get("model")->get("module.cls_token");
    ASSERT_NE(cls, nullptr);
    EXPECT_EQ(cls->as_tensor()->storage->location, "cuda:0");
    EXPECT_TRUE(sd[0].second.device().is_cpu());

    const auto leaves = flatten_checkpoint(file.object, file.source);
    ASSERT_EQ(leaves.size(), sd.size() + 3);
    EXPECT_EQ(leaves[sd.size()].first, "best_thr");
    EXPECT_EQ(leaves[sd.size() + 1].first, "epoch");
    EXPECT_EQ(leaves[sd.size() + 2].first, "args");
}

TEST(Pth, SharedStoragesStayShared) {
    for (const char* stem : {"views_zip", "views_legacy"}) {
        SCOPED_TRACE(stem);
        const PthFile file = read_pth(ckpt(std::string(stem) + ".pth"));
        const PyValue& sd = *file.object.get("state_dict");
        const PyTensor& rows = *sd.get("rows")->as_tensor();
        const PyTensor& window = *sd.get("window")->as_tensor();
        // base[2:14].view(3, 4) and base.view(4, 6)[:, 1:5] view one storage of 24 floats.
        EXPECT_EQ(rows.storage.get(), window.storage.get());
        EXPECT_EQ(rows.storage->numel, 24);
        EXPECT_EQ(rows.offset, 2);
        EXPECT_EQ(window.strides, (Strides{6, 1}));
        // The contiguous view shares the memory; the strided one was packed into its own.
        EXPECT_EQ(rows.value.storage().get(), rows.storage->data.get());
        EXPECT_EQ(rows.value.offset(), 2);
        EXPECT_NE(window.value.storage().get(), rows.storage->data.get());
        EXPECT_TRUE(window.value.is_contiguous());
        const Tensor& t = sd.get("weight_t")->as_tensor()->value;
        EXPECT_TRUE(t.is_contiguous());
        EXPECT_EQ(t.shape(), (Shape{5, 3}));
        EXPECT_EQ(file.object.get("step")->as_int(), 7);
    }
}

TEST(Pth, FromMemoryMatchesFromFile) {
    const std::string bytes = read_file(ckpt("vit_tar.pth"));
    const PthFile a = parse_pth(bytes, "in-memory");
    const NamedTensors sa = pth_state_dict(a.object, a.source);
    const NamedTensors sb = load_pth_state_dict(ckpt("vit_tar.pth"));
    ASSERT_EQ(sa.size(), sb.size());
    for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(identical(sa[i].second, sb[i].second));
}

// ---- bad files: each error names the file and the problem --------------------------------------------

void expect_bad(const std::string& name, const std::string& fragment) {
    SCOPED_TRACE(name);
    const std::string path = ckpt(name);
    try {
        read_pth(path);
        ADD_FAILURE() << "expected an error containing \"" << fragment << "\"";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find(fragment), std::string::npos) << message;
        EXPECT_NE(message.find(path), std::string::npos) << "the message does not name the file: " << message;
    }
}

TEST(Pth, RejectsMaliciousPickles) {
    expect_bad("bad_os_system.pth", "global 'os.system' is not allowed");
    expect_bad("bad_eval.pth", "global '__builtin__.eval' is not allowed");
}

TEST(Pth, RejectsCorruptFiles) {
    expect_bad("bad_truncated_zip.pth", "no zip end-of-central-directory record");
    expect_bad("bad_truncated_legacy.pth", "the storages listed need more than the");
    expect_bad("bad_truncated_tar.pth", "runs past the end of the archive");
    expect_bad("bad_magic.pth", "bad magic number");
    expect_bad("bad_short_storage.pth", "storage shorter than its tensor");
    expect_bad("bad_short_record.pth", "member 'bad/data/0' holds 16 bytes but its storage of 6 float32 needs 24");
    expect_bad("bad_missing_member.pth", "missing zip member 'bad/data/1'");
    expect_bad("bad_storage_type.pth", "storage type torch.ShortStorage (int16) has no wsol dtype");
    expect_bad("bad_unknown_storage.pth", "global 'torch.FooStorage' is not allowed");
    expect_bad("bad_big_endian.pth", "only little-endian checkpoints are supported");
    expect_bad("bad_crc.pth", "zip member 'bad/data/0' fails its CRC-32 check");
    expect_bad("bad_expanded.pth", "expanded tensors are not supported");
    expect_bad("bad_uint16.pth", "tensor of dtype torch.uint16, which wsol does not support");
    expect_bad("bad_overlap.pth", "zip members 'bad/data/0' and 'bad/data/1' overlap");
    expect_bad("bad_not_a_checkpoint.pth", "not a PyTorch checkpoint (starts with bytes [68 65 6c 6c]");
    EXPECT_WSOL_ERROR(read_pth(ckpt("no_such_file.pth")), "no_such_file.pth: cannot open");
}

TEST(Pth, StateDictErrors) {
    EXPECT_WSOL_ERROR(pth_state_dict(PyValue::integer(3), "x.pth"), "x.pth: no state dict: the checkpoint is a int");
    PyValue d = PyValue::dict();
    d.mutable_dict().set(PyValue::string("epoch"), PyValue::integer(3));
    EXPECT_WSOL_ERROR(pth_state_dict(d, "x.pth"), "x.pth: state dict entry 'epoch' in the checkpoint is a int (3)");
    EXPECT_WSOL_ERROR(pth_state_dict(PyValue::dict(), "x.pth"), "is empty");
}

// Every truncation and every single-byte corruption of small valid files either still reads or
// throws wsol::Error: never a crash, a hang or another exception (the fuzzers go further).
TEST(Pth, CorruptionSweepNeverCrashes) {
    for (const char* name : {"zip.pth", "legacy.pth", "tar_py2.pth", "tar_py3.pth"}) {
        SCOPED_TRACE(name);
        const std::string good = read_file(testing::source_path(std::string("tests/fuzz/corpus/fuzz_pth/") + name));
        size_t errors = 0;
        auto attempt = [&](const std::string& bytes) {
            try {
                const PthFile f = parse_pth(bytes, name);
                (void)flatten_checkpoint(f.object, name);
            } catch (const Error&) {
                ++errors;
            }
        };
        for (size_t n = 0; n < good.size(); n += 7) attempt(good.substr(0, n));
        for (size_t i = 0; i < good.size(); i += 3) {
            std::string bad = good;
            bad[i] = char(bad[i] ^ 0x5a);
            attempt(bad);
        }
        EXPECT_GT(errors, 0u);
    }
}

}  // namespace
}  // namespace wsol
