// The strict unpickler: values written by CPython's pickler (the oracle: tools/reference/checkpoints.py
// writes tests/fixtures/checkpoints/pickles/ from known Python values, restated here), torch's
// opcode patterns, and rejection of everything outside the allow-list or the bounds. The short
// malformed programs below are written by hand; each comment gives the opcodes.
#include <cmath>

#include "engine/file_util.h"
#include "engine/pickle.h"
#include "support/testing.h"

namespace wsol {
namespace {

using namespace std::string_literals;
using Kind = PyValue::Kind;
using testing::fixture_path;

PyValue parse(const std::string& bytes, const PersistentLoader& loader = {}) {
    return unpickle(bytes, "test.pkl", loader);
}

PyValue load_pickle(const std::string& name) {
    const std::string path = fixture_path("checkpoints/pickles/" + name);
    return unpickle(read_file(path), path);
}

// The values of PICKLE_VALUES in tools/reference/checkpoints.py, in any protocol.
void expect_pickle_values(const PyValue& v) {
    ASSERT_TRUE(v.is(Kind::Dict));
    const PyValue& args = *v.get("args");
    ASSERT_TRUE(args.is(Kind::Object));
    EXPECT_EQ(args.as_object()->type, "argparse.Namespace");
    EXPECT_EQ(args.repr(), "Namespace(lr=0.5, name='deit')");
    EXPECT_EQ(v.get("bytes")->as_string(), "\x00\xff" "A"s);
    EXPECT_TRUE(v.get("bytes")->is(Kind::Bytes));
    ASSERT_EQ(v.get("set")->as_sequence().size(), 1u);
    EXPECT_EQ(v.get("set")->as_sequence()[0].as_int(), 3);
    // 2**70 does not fit in 64 bits: kept as its bytes; repr prints the decimal value.
    EXPECT_TRUE(v.get("big")->is(Kind::BigInt));
    EXPECT_EQ(v.get("big")->repr(), "1180591620717411303424");
    EXPECT_EQ(v.get("negative_big")->repr(), "-1180591620717411303424");
    EXPECT_EQ(v.get("int64_min")->as_int(), INT64_MIN);
    const PyList& floats = v.get("floats")->as_sequence();
    ASSERT_EQ(floats.size(), 3u);
    EXPECT_EQ(floats[0].as_float(), 0.25);
    EXPECT_EQ(floats[1].as_float(), -1e-300);
    EXPECT_TRUE(std::isinf(floats[2].as_float()));
    EXPECT_EQ(v.get("tuple4")->repr(), "(1, 2, 3, 4)");
    EXPECT_EQ(v.get("unicode")->as_string(), "\u00fcn\u00efc\u00f6d\u00e9 \u2713");
    const PyValue& nested = *v.get("nested");
    EXPECT_TRUE(nested.get("none")->is_none());
    EXPECT_TRUE(nested.get("true")->as_bool());
    EXPECT_FALSE(nested.get("false")->as_bool());
    ASSERT_EQ(nested.as_dict().size(), 5u);
    EXPECT_EQ(nested.as_dict().items[3].first.as_int(), 7);
    EXPECT_EQ(nested.as_dict().items[3].second.as_string(), "int key");
    EXPECT_EQ(nested.as_dict().items[4].first.repr(), "(1, 'a')");
}

TEST(Pickle, ValuesFromCPythonProtocol2) { expect_pickle_values(load_pickle("values_p2.pkl")); }
TEST(Pickle, ValuesFromCPythonProtocol4) { expect_pickle_values(load_pickle("values_p4.pkl")); }
TEST(Pickle, ValuesFromCPythonProtocol5) { expect_pickle_values(load_pickle("values_p5.pkl")); }

TEST(Pickle, NumpyScalarsBecomeNumbers) {
    // {"f8": np.float64(0.25), "i8": np.int64(-7), "f4": np.float32(1.5), "b": np.bool_(True)}
    const PyValue v = load_pickle("numpy_scalars.pkl");
    EXPECT_EQ(v.get("f8")->as_float(), 0.25);
    EXPECT_EQ(v.get("i8")->as_int(), -7);
    EXPECT_EQ(v.get("f4")->as_float(), 1.5);
    EXPECT_TRUE(v.get("b")->as_bool());
}

TEST(Pickle, MemoSharesContainers) {
    // {"a": shared, "b": shared} with shared = [1, 2]: one list, seen twice.
    const PyValue v = load_pickle("shared.pkl");
    EXPECT_EQ(v.get("a")->identity(), v.get("b")->identity());
    EXPECT_EQ(v.get("b")->repr(), "[1, 2]");
}

TEST(Pickle, OrderedDictWithMetadataBuild) {
    // PROTO 2; GLOBAL collections.OrderedDict; BINPUT 0; EMPTY_TUPLE; REDUCE; MARK 'w' 1 'b' 2 SETITEMS;
    // EMPTY_DICT '_metadata' BINGET 0 () REDUCE MARK '' EMPTY_DICT SETITEMS SETITEM; BUILD; STOP
    const std::string p =
        "\x80\x02" "ccollections\nOrderedDict\nq\x00" ")R(X\x01\x00\x00\x00wK\x01X\x01\x00\x00\x00" "bK\x02u"
        "}X\x09\x00\x00\x00_metadatah\x00)R(X\x00\x00\x00\x00}us" "b."s;
    const PyValue v = parse(p);
    ASSERT_EQ(v.as_dict().size(), 2u);  // _metadata is an attribute, not an item
    EXPECT_EQ(v.get("w")->as_int(), 1);
    EXPECT_EQ(v.get("b")->as_int(), 2);
    EXPECT_EQ(v.get("_metadata"), nullptr);
}

TEST(Pickle, OrderedDictPython2Form) {
    // OrderedDict([['k', 5], ['j', 6]]): GLOBAL; EMPTY_LIST MARK (EMPTY_LIST MARK U'k' K5 APPENDS) x2
    // APPENDS; TUPLE1; REDUCE; STOP
    const std::string p = "\x80\x02" "ccollections\nOrderedDict\n" "](](U\x01kK\x05" "e](U\x01jK\x06" "ee\x85R."s;
    const PyValue v = parse(p);
    ASSERT_EQ(v.as_dict().size(), 2u);
    EXPECT_EQ(v.as_dict().items[0].first.as_string(), "k");
    EXPECT_EQ(v.get("j")->as_int(), 6);
}

TEST(Pickle, IntForms) {
    EXPECT_EQ(parse("\x80\x02J\xfe\xff\xff\xff."s).as_int(), -2);             // BININT
    EXPECT_EQ(parse("\x80\x02M\x01\x02."s).as_int(), 0x0201);                 // BININT2
    EXPECT_EQ(parse("\x80\x02\x8a\x02\xff\x7f."s).as_int(), 0x7fff);           // LONG1
    EXPECT_EQ(parse("\x80\x02\x8a\x01\xff."s).as_int(), -1);                   // LONG1, sign bit
    EXPECT_EQ(parse("\x80\x02\x8a\x00."s).as_int(), 0);                        // LONG1 of zero bytes
    EXPECT_EQ(parse("\x80\x02I140000000008192\n."s).as_int(), 140000000008192);  // Python 2 text int
    EXPECT_TRUE(parse("\x80\x02I01\n."s).as_bool());                           // Python 2 True
    EXPECT_EQ(parse("\x80\x02L-12L\n."s).as_int(), -12);
    // LONG4 of 9 bytes whose top byte is pure sign extension still fits in 64 bits.
    EXPECT_EQ(parse("\x80\x02\x8b\x09\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff."s).as_int(), -1);
}

TEST(Pickle, PersistentIdsGoThroughTheLoader) {
    // MARK 'storage' 'k' TUPLE BINPERSID STOP
    const std::string p = "\x80\x02(X\x07\x00\x00\x00storageX\x01\x00\x00\x00kt" "Q."s;
    std::string seen;
    const PyValue v = parse(p, [&](const PyValue& pid) {
        seen = pid.repr();
        return PyValue::integer(42);
    });
    EXPECT_EQ(seen, "('storage', 'k')");
    EXPECT_EQ(v.as_int(), 42);
    EXPECT_WSOL_ERROR(parse(p), "no persistent loader");
}

TEST(Pickle, StopsAtStopAndReportsThePosition) {
    const std::string two = "\x80\x02K\x01.\x80\x02K\x02."s;
    size_t pos = 0;
    EXPECT_EQ(unpickle(two, pos, "two").as_int(), 1);
    EXPECT_EQ(pos, 5u);
    EXPECT_EQ(unpickle(two, pos, "two").as_int(), 2);
    EXPECT_EQ(pos, two.size());
    EXPECT_WSOL_ERROR(parse(two), "test.pkl: 5 bytes after the pickle's STOP");
}

// ---- the allow-list --------------------------------------------------------------------------------

TEST(Pickle, RejectsGlobalsOutsideTheAllowList) {
    // GLOBAL os.system; 'echo'; TUPLE1; REDUCE; STOP - never called, rejected at the GLOBAL.
    EXPECT_WSOL_ERROR(parse("\x80\x02" "cos\nsystem\nX\x04\x00\x00\x00" "echo\x85R."s),
                      "test.pkl: pickle byte 2: global 'os.system' is not allowed");
    EXPECT_WSOL_ERROR(parse("\x80\x02" "c__builtin__\neval\n."s), "global '__builtin__.eval' is not allowed");
    EXPECT_WSOL_ERROR(parse("\x80\x02" "cposix\nsystem\n."s), "global 'posix.system' is not allowed");
    EXPECT_WSOL_ERROR(parse("\x80\x02" "ctorch.nn.modules.linear\nLinear\n."s), "'torch.nn.modules.linear.Linear'");
    EXPECT_WSOL_ERROR(parse("\x80\x02" "ctorch\nload\n."s), "global 'torch.load' is not allowed");
    // STACK_GLOBAL takes the names from the stack: same check.
    EXPECT_WSOL_ERROR(parse("\x80\x04\x8c\x02os\x8c\x06system\x93."s), "global 'os.system' is not allowed");
    // Allowed names are only data: calling a storage class or a dtype is refused.
    EXPECT_WSOL_ERROR(parse("\x80\x02" "ctorch\nFloatStorage\n)R."s), "global torch.FloatStorage cannot be called");
    // REDUCE on something that is not a global.
    EXPECT_WSOL_ERROR(parse("\x80\x02K\x01)R."s), "REDUCE calls a int");
    // NEWOBJ only for the allow-listed classes.
    EXPECT_WSOL_ERROR(parse("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n)\x81."s),
                      "is not a class that can be instantiated");
    // _codecs.encode with another codec than latin1.
    EXPECT_WSOL_ERROR(parse("\x80\x02" "c_codecs\nencode\nX\x01\x00\x00\x00" "aX\x04\x00\x00\x00rot3\x86R."s),
                      "only latin1");
}

TEST(Pickle, RebuildTensorChecksItsArguments) {
    // _rebuild_tensor_v2 with an int where the storage should be.
    EXPECT_WSOL_ERROR(parse("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(K\x00K\x00)))\x89NtR."s),
                      "must be a storage");
    EXPECT_WSOL_ERROR(parse("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n)R."s), "takes between 6 and 7 arguments");
}

// ---- bounds ----------------------------------------------------------------------------------------

TEST(Pickle, RejectsMalformedPrograms) {
    EXPECT_WSOL_ERROR(parse(""), "the pickle ends without STOP");
    EXPECT_WSOL_ERROR(parse("\x80\x02K\x01"s), "the pickle ends without STOP");
    EXPECT_WSOL_ERROR(parse("\x80\x06N."s), "unsupported pickle protocol 6");
    EXPECT_WSOL_ERROR(parse("\x80\x02."s), "pickle byte 2: stack underflow");
    EXPECT_WSOL_ERROR(parse("\x80\x02K\x01K\x02."s), "STOP with 1 values");
    EXPECT_WSOL_ERROR(parse("\x80\x02h\x05."s), "memo index 5 was never stored");
    EXPECT_WSOL_ERROR(parse("\x80\x02q\x00."s), "stack underflow");  // BINPUT with nothing to store
    EXPECT_WSOL_ERROR(parse("\x80\x02]K\x01" "e."s), "no MARK to pop to");
    EXPECT_WSOL_ERROR(parse("\x80\x02](a."s), "stack underflow");  // APPEND may not reach below the MARK
    EXPECT_WSOL_ERROR(parse("\x80\x02K\x00K\x01K\x02s."s), "SETITEM needs a dict below");
    EXPECT_WSOL_ERROR(parse("\x80\x02}(K\x01u."s), "odd number of items");
    EXPECT_WSOL_ERROR(parse("\x80\x02}]K\x01s."s), "unhashable type as a dict key: list");
    EXPECT_WSOL_ERROR(parse("\x80\x02X\xff\xff\xff\x7f" "abc."s), "truncated: opcode needs 2147483647 more bytes");
    EXPECT_WSOL_ERROR(parse("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff."s), "truncated");  // BINUNICODE8 2^64-1
    EXPECT_WSOL_ERROR(parse("\x80\x02X\x02\x00\x00\x00\xc3\x28."s), "not valid UTF-8");
    EXPECT_WSOL_ERROR(parse("\x80\x02\x8b\xff\xff\xff\xff."s), "LONG4 length -1 is out of range");
    EXPECT_WSOL_ERROR(parse("\x80\x02I12x\n."s), "bad integer text");
    EXPECT_WSOL_ERROR(parse("\x80\x02I99999999999999999999\n."s), "does not fit in 64 bits");
    EXPECT_WSOL_ERROR(parse("\x80\x02" "cos"s), "truncated or overlong text line");
    EXPECT_WSOL_ERROR(parse("\x80\x02\xff."s), "unknown opcode 0xff");
    EXPECT_WSOL_ERROR(parse("\x80\x02P1\n."s), "('P') is valid pickle but not used by torch.save");
    EXPECT_WSOL_ERROR(parse("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N."s), "FRAME of 255 bytes");
    EXPECT_WSOL_ERROR(parse("\x80\x02K\x01}b."s), "BUILD on a int is not supported");
}

TEST(Pickle, RejectsHugeDictKeys) {
    // A 5000-byte str as a dict key: real keys are short, and a bound keeps SETITEM cheap.
    const std::string p = "\x80\x02}X\x88\x13\x00\x00"s + std::string(5000, 'k') + "K\x01s."s;
    EXPECT_WSOL_ERROR(parse(p), "of 5000 bytes is too long");
}

TEST(Pickle, RejectsSelfReferenceAndDeepNesting) {
    // EMPTY_LIST BINPUT 0; BINGET 0; APPEND; STOP: the list contains itself.
    EXPECT_WSOL_ERROR(parse("\x80\x02]q\x00h\x00" "a."s), "contains itself");
    // A dict holding itself through a tuple.
    EXPECT_WSOL_ERROR(parse("\x80\x02}q\x00K\x01h\x00\x85s."s), "contains itself");
    // 101 nested lists: past the depth limit; 100 are fine.
    std::string deep = "\x80\x02"s;
    for (int i = 0; i < 101; ++i) deep += "]";
    for (int i = 0; i < 100; ++i) deep += "a";
    deep += ".";
    EXPECT_WSOL_ERROR(parse(deep), "nested deeper than 100");
    std::string ok = "\x80\x02"s;
    for (int i = 0; i < 100; ++i) ok += "]";
    for (int i = 0; i < 99; ++i) ok += "a";
    ok += ".";
    EXPECT_TRUE(parse(ok).is(Kind::List));
    // A DAG that shares one list 2^40 ways is fine to hold (and cheap to check).
    std::string dag = "\x80\x02]"s;
    for (int i = 0; i < 40; ++i) dag += "2\x86";  // DUP, TUPLE2: (x, x)
    dag += ".";
    EXPECT_TRUE(parse(dag).is(Kind::Tuple));
}

TEST(Pickle, ErrorsNameTheOffset) {
    // The bad opcode sits at byte 4 (after PROTO 2 and BININT1 7).
    EXPECT_WSOL_ERROR(parse("\x80\x02K\x07\xfe."s), "test.pkl: pickle byte 4: unknown opcode 0xfe");
}

TEST(Pickle, TorchTypeTables) {
    EXPECT_EQ(torch_storage_dtype(PyValue::global("torch.BFloat16Storage"), "t"), kBFloat16);
    EXPECT_EQ(torch_storage_dtype(PyValue::global("torch.cuda.HalfStorage"), "t"), kFloat16);
    EXPECT_EQ(torch_tensor_type_dtype(PyValue::global("torch.LongTensor"), "t"), kInt64);
    EXPECT_WSOL_ERROR(torch_storage_dtype(PyValue::global("torch.ShortStorage"), "x.pth"),
                      "x.pth: storage type torch.ShortStorage (int16) has no wsol dtype");
    EXPECT_WSOL_ERROR(torch_storage_dtype(PyValue::global("torch.FooStorage"), "x.pth"), "unknown storage type");
    EXPECT_WSOL_ERROR(torch_storage_dtype(PyValue::integer(1), "x.pth"), "must be a torch storage class");
}

TEST(PyValue, ReprAndAccessors) {
    EXPECT_EQ(PyValue::floating(30.0).repr(), "30.0");
    EXPECT_EQ(PyValue::floating(0.4).repr(), "0.4");
    // Python's repr switches to scientific notation below 1e-4 and from 1e16 (values checked in CPython).
    EXPECT_EQ(PyValue::floating(0.0001).repr(), "0.0001");
    EXPECT_EQ(PyValue::floating(0.00001).repr(), "1e-05");
    EXPECT_EQ(PyValue::floating(-1.5e-7).repr(), "-1.5e-07");
    EXPECT_EQ(PyValue::floating(1e16).repr(), "1e+16");
    EXPECT_EQ(PyValue::floating(1234567890123456.0).repr(), "1234567890123456.0");
    EXPECT_EQ(PyValue::floating(123.456).repr(), "123.456");
    EXPECT_EQ(PyValue::floating(2.5e300).repr(), "2.5e+300");
    EXPECT_EQ(PyValue::string("it's").repr(), "'it\\'s'");
    EXPECT_EQ(PyValue::tuple({PyValue::integer(1)}).repr(), "(1,)");
    EXPECT_EQ(PyValue().repr(), "None");
    EXPECT_WSOL_ERROR(PyValue::string("x").as_int(), "expected int, got str 'x'");
    EXPECT_EQ(PyValue::boolean(true).as_int(), 1);
    PyValue d = PyValue::dict();
    d.mutable_dict().set(PyValue::integer(1), PyValue::string("a"));
    d.mutable_dict().set(PyValue::floating(1.0), PyValue::string("b"));  // 1.0 == 1: same key, first position
    ASSERT_EQ(d.as_dict().size(), 1u);
    EXPECT_EQ(d.as_dict().items[0].second.as_string(), "b");
    std::string long_list = PyValue::list(PyList(1000, PyValue::integer(123456))).repr(50);
    EXPECT_LE(long_list.size(), 53u);
}

}  // namespace
}  // namespace wsol
