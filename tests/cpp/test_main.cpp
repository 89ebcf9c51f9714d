// Tests of include/ftapi.hpp against opend-sim. Built twice (with and without
// FTAPI_WITH_PROTOBUF), with ASan/UBSan. Usage: test_main GROUP [PORT]
// Each test prints "PASS name" or "FAIL name: why"; run-tests.sh counts them.
#include "ftapi.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif

using namespace Futu;
namespace pb = Qot_GetUserSecurityGroup;

namespace {

int g_pass = 0, g_fail = 0;
std::uint16_t g_port = 0;
const char* const kHost = "127.0.0.1";

struct Failure : std::runtime_error {
    explicit Failure(const std::string& s) : std::runtime_error(s) {}
};

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) throw Failure(std::string("line ") + std::to_string(__LINE__) + \
                                   ": CHECK(" #cond ")");                              \
    } while (0)

template <class F>
void run(const char* name, F fn) {
    try {
        fn();
        std::printf("PASS %s\n", name);
        ++g_pass;
    } catch (const std::exception& e) {
        std::printf("FAIL %s: %s\n", name, e.what());
        ++g_fail;
    }
    std::fflush(stdout);
}

// Waits (bounded) for a condition set from the library's thread.
class Signal {
public:
    void notify() {
        std::lock_guard<std::mutex> l(m_);
        ++count_;
        cv_.notify_all();
    }
    bool wait(int n = 1, int ms = 10000) {
        std::unique_lock<std::mutex> l(m_);
        return cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return count_ >= n; });
    }
    int count() {
        std::lock_guard<std::mutex> l(m_);
        return count_;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int count_ = 0;
};

struct Reply {
    u32_t serial;
    int ret_type;
    std::string ret_msg;
    std::vector<std::pair<std::string, int>> groups;
    bool has_s2c;
    bool has_ret_msg;
    bool has_err_code;
    int err_code;
};

// Records every callback; optionally throws from them.
class Recorder : public FTSPI_Qot, public FTSPI_Trd, public FTSPI_Conn {
public:
    std::mutex m;
    i64_t init_err = -1;
    std::string init_desc;
    FTAPI_Conn* init_conn = nullptr;
    u64_t connect_id_in_cb = 0;
    std::vector<i64_t> disconnects;
    std::vector<Reply> replies;
    Signal inited, replied, disconnected;
    std::atomic<int> throw_mode{0};  // 1: std::runtime_error, 2: an int
    std::thread::id cb_thread;

    void OnInitConnect(FTAPI_Conn* pConn, i64_t nErrCode, const char* strDesc) override {
        {
            std::lock_guard<std::mutex> l(m);
            init_err = nErrCode;
            init_desc = strDesc;
            init_conn = pConn;
            connect_id_in_cb = pConn->GetConnectID();
            cb_thread = std::this_thread::get_id();
        }
        inited.notify();
    }
    void OnDisConnect(FTAPI_Conn*, i64_t nErrCode) override {
        {
            std::lock_guard<std::mutex> l(m);
            disconnects.push_back(nErrCode);
        }
        disconnected.notify();
    }
    void OnReply_GetUserSecurityGroup(u32_t nSerialNo, const pb::Response& r) override {
        const int mode = throw_mode.load();  // read before the test thread is woken
        Reply rep;
        rep.serial = nSerialNo;
        rep.ret_type = r.rettype();
        rep.ret_msg = r.retmsg();
        rep.has_s2c = r.has_s2c();
        rep.has_ret_msg = r.has_retmsg();
        rep.has_err_code = r.has_errcode();
        rep.err_code = r.errcode();
        for (int i = 0; i < r.s2c().grouplist_size(); ++i)
            rep.groups.emplace_back(r.s2c().grouplist(i).groupname(), r.s2c().grouplist(i).grouptype());
        {
            std::lock_guard<std::mutex> l(m);
            replies.push_back(rep);
        }
        replied.notify();
        if (mode == 1) throw std::runtime_error("thrown from OnReply on purpose");
        if (mode == 2) throw 42;
    }
    Reply reply(std::size_t i) {
        std::lock_guard<std::mutex> l(m);
        if (i >= replies.size()) throw Failure("no reply #" + std::to_string(i));
        return replies[i];
    }
};

pb::Request request(int type) {
    pb::Request req;
    req.mutable_c2s()->set_grouptype(type);
    return req;
}

// Creates an API object with rec registered on both SPIs and connects it.
FTAPI_Qot* connect(Recorder& rec, u32_t timeout_ms = 0) {
    FTAPI_Qot* api = FTAPI::CreateQotApi();
    api->SetClientInfo("cpp-tests", 1);
    if (timeout_ms) api->SetRequestTimeout(timeout_ms);
    api->RegisterQotSpi(&rec);
    api->RegisterConnSpi(&rec);
    CHECK(api->InitConnect(kHost, g_port, false));
    CHECK(rec.inited.wait());
    CHECK(rec.init_err == 0);
    return api;
}

// As connect(), to a given port, waiting with WaitInit.
FTAPI_Qot* connect_to(Recorder& rec, std::uint16_t port) {
    FTAPI_Qot* api = FTAPI::CreateQotApi();
    api->RegisterQotSpi(&rec);
    api->RegisterConnSpi(&rec);
    i64_t err = -1;
    if (!api->InitConnect(kHost, port, false) || !api->WaitInit(10000, &err) || err != 0) {
        FTAPI::ReleaseQotApi(api);
        throw Failure("connect failed");
    }
    return api;
}

// Owns a connected API object (the tests' own RAII).
struct Api {
    FTAPI_Qot* p;
    explicit Api(FTAPI_Qot* q) : p(q) {}
    ~Api() { FTAPI::ReleaseQotApi(p); }
    FTAPI_Qot* operator->() { return p; }
};

const std::vector<std::pair<std::string, int>> kEnAll = {
    {"All", 2}, {"Starred", 2}, {"CN", 2}, {"HK", 2}, {"US", 2}, {"Options", 2},
    {"HK options", 2}, {"US options", 2}, {"Futures", 2}, {"Bonds", 2}, {"A", 1}, {"C", 1}};

// A TCP port nobody listens on.
std::uint16_t closed_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a;
    std::memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

void group_env() {
    run("sanitizer_linked", [] {
#ifdef TEST_ASAN
        std::printf("  AddressSanitizer: linked\n");
#else
        throw Failure("built without AddressSanitizer");
#endif
    });
    run("header_abi_basics", [] {
        static_assert(sizeof(u32_t) == 4 && sizeof(i64_t) == 8 && sizeof(u16_t) == 2, "sizes");
        static_assert(std::is_signed<i32_t>::value && !std::is_signed<u64_t>::value, "signs");
        CHECK(std::string(ftapi_version()).size() > 0);
        ftapi::Error e(FTAPI_ERR_NOT_READY);
        CHECK(e.code() == FTAPI_ERR_NOT_READY);
        CHECK(std::string(e.what()) == ftapi_result_message(FTAPI_ERR_NOT_READY));
        pb::Response empty;
        CHECK(empty.rettype() == -400);  // proto default, both modes
        CHECK(!empty.has_s2c());
        CHECK(empty.s2c().grouplist_size() == 0);
    });
    run("moomoo_names_are_aliases", [] {
        static_assert(std::is_same<moomoo::MMAPI, Futu::FTAPI>::value, "MMAPI");
        static_assert(std::is_same<moomoo::MMAPI_Qot, Futu::FTAPI_Qot>::value, "MMAPI_Qot");
        static_assert(std::is_same<moomoo::MMAPI_Conn, Futu::FTAPI_Conn>::value, "MMAPI_Conn");
        static_assert(std::is_same<moomoo::MMSPI_Qot, Futu::FTSPI_Qot>::value, "MMSPI_Qot");
        static_assert(std::is_same<moomoo::MMSPI_Conn, Futu::FTSPI_Conn>::value, "MMSPI_Conn");
        static_assert(std::is_same<moomoo::u32_t, Futu::u32_t>::value, "u32_t");
        static_assert(std::is_same<moomoo::i64_t, Futu::i64_t>::value, "i64_t");
    });
    run("not_connected_sends_nothing", [] {
        Recorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterQotSpi(&rec);
        CHECK(api->GetConnectID() == 0);
        CHECK(api->GetState() == FTAPI_STATE_CLOSED);
        CHECK(api->GetUserSecurityGroup(request(3)) == 0);
        CHECK(!api->InitConnect("", g_port, false));      // empty host: not started
        CHECK(!api->InitConnect(kHost, 11111, true));      // encryption without a key
    });
    run("connect_refused", [] {
        Recorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterConnSpi(&rec);
        CHECK(api->InitConnect(kHost, closed_port(), false));  // started...
        CHECK(rec.inited.wait());                                 // ...then failed
        CHECK(ftapi_err_code_high(rec.init_err) == FTAPI_CONNECT_FAIL_CONNECT);
        CHECK(rec.init_err != 0);
        CHECK(rec.disconnects.empty());
    });
}

void group_default() {
    run("official_flow_all_groups", [] {
        FTAPI::Init();
        Recorder rec;
        Api api(connect(rec));
        CHECK(rec.init_conn == static_cast<FTAPI_Conn*>(api.p));
        CHECK(rec.cb_thread != std::this_thread::get_id());
        CHECK(rec.connect_id_in_cb != 0);
        CHECK(api->GetConnectID() == rec.connect_id_in_cb);
        CHECK(api->GetState() == FTAPI_STATE_READY);
        u32_t serial = api->GetUserSecurityGroup(request(pb::GroupType_All));
        CHECK(serial == 2);  // 1 is InitConnect
        CHECK(rec.replied.wait());
        Reply r = rec.reply(0);
        CHECK(r.serial == serial);
        CHECK(r.ret_type == 0);
        CHECK(r.has_s2c);
        CHECK(r.groups == kEnAll);
        FTAPI::UnInit();
    });
    run("reply_fields_as_opend_sent_them", [] {
        // OpenD (and opend-sim) send retMsg "" and errCode 0 with a success.
        Recorder rec;
        Api api(connect(rec));
        api->GetUserSecurityGroup(request(pb::GroupType_All));
        CHECK(rec.replied.wait());
        Reply r = rec.reply(0);
        CHECK(r.ret_type == 0 && r.has_s2c);
        CHECK(r.has_ret_msg && r.ret_msg.empty());
        CHECK(r.has_err_code && r.err_code == 0);
        ftapi::Qot qot;
        Signal inited;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) { inited.notify(); });
        qot.connect(kHost, g_port);
        CHECK(inited.wait());
        ftapi::GroupsReply g = qot.get_user_security_group_sync(ftapi::GroupType::All);
        CHECK(g.ok() && g.has_ret_msg && g.has_err_code && g.has_s2c && g.groups.size() == kEnAll.size());
        CHECK(g.ret_msg.empty() && g.err_code == 0);
    });
    run("custom_and_system_filters", [] {
        Recorder rec;
        Api api(connect(rec));
        u32_t s1 = api->GetUserSecurityGroup(request(pb::GroupType_Custom));
        u32_t s2 = api->GetUserSecurityGroup(request(pb::GroupType_System));
        CHECK(s1 != 0 && s2 == s1 + 1);
        CHECK(rec.replied.wait(2));
        Reply a = rec.reply(0), b = rec.reply(1);
        if (a.serial != s1) std::swap(a, b);
        CHECK(a.serial == s1 && b.serial == s2);
        CHECK((a.groups == std::vector<std::pair<std::string, int>>{{"A", 1}, {"C", 1}}));
        CHECK(b.groups.size() == 10);
        CHECK(b.groups.front().first == "All" && b.groups.back().first == "Bonds");
        for (const auto& g : b.groups) CHECK(g.second == 2);
    });
    run("invalid_requests_return_zero", [] {
        Recorder rec;
        Api api(connect(rec));
        CHECK(api->GetUserSecurityGroup(request(0)) == 0);
        CHECK(api->GetUserSecurityGroup(request(7)) == 0);
        CHECK(api->GetUserSecurityGroup(pb::Request()) == 0);  // c2s missing
        pb::Request no_type;
        no_type.mutable_c2s();
        CHECK(api->GetUserSecurityGroup(no_type) == 0);        // required groupType missing
        CHECK(!api->InitConnect(kHost, g_port, false));          // already connected
        u32_t ok = api->GetUserSecurityGroup(request(3));
        CHECK(ok == 2);  // nothing above used a serial number
        CHECK(rec.replied.wait());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(rec.replied.count() == 1);
    });
    run("exception_in_callback_connection_keeps_working", [] {
        Recorder rec;
        rec.throw_mode = 1;
        Api api(connect(rec));
        CHECK(api->GetUserSecurityGroup(request(3)) != 0);
        CHECK(rec.replied.wait(1));
        rec.throw_mode = 2;  // not a std::exception
        CHECK(api->GetUserSecurityGroup(request(1)) != 0);
        CHECK(rec.replied.wait(2));
        rec.throw_mode = 0;
        u32_t s = api->GetUserSecurityGroup(request(2));
        CHECK(rec.replied.wait(3));
        CHECK(rec.reply(2).serial == s && rec.reply(2).ret_type == 0);
        CHECK(rec.reply(2).groups.size() == 10);
        CHECK(api->GetState() == FTAPI_STATE_READY);
        CHECK(rec.disconnects.empty());
    });
    run("unregister_then_destroy_spi", [] {
        Recorder keep;
        std::unique_ptr<Recorder> gone(new Recorder);
        Api api(FTAPI::CreateQotApi());
        api->RegisterConnSpi(&keep);
        api->RegisterQotSpi(gone.get());
        CHECK(api->InitConnect(kHost, g_port, false));
        CHECK(keep.inited.wait() && keep.init_err == 0);
        // Requests in flight while the SPI is swapped out and destroyed (ASan watches).
        for (int i = 0; i < 5; ++i) CHECK(api->GetUserSecurityGroup(request(3)) != 0);
        api->UnregisterQotSpi();
        gone.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        Recorder fresh;
        api->RegisterQotSpi(&fresh);
        u32_t s = api->GetUserSecurityGroup(request(1));
        CHECK(fresh.replied.wait());
        CHECK(fresh.reply(0).serial == s);
        api->UnregisterConnSpi();
        CHECK(api->Close());
        CHECK(keep.disconnected.count() == 0);  // unregistered: not called
    });
    run("close_completes_pending_then_disconnects", [] {
        Recorder rec;
        Api api(connect(rec));
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(s != 0);
        CHECK(api->Close());
        // Close from another thread returns after the outcomes and OnDisConnect.
        CHECK(rec.disconnected.count() == 1);
        CHECK(rec.disconnects[0] == 0);
        CHECK(rec.replied.count() == 1);
        Reply r = rec.reply(0);
        CHECK(r.serial == s);
        CHECK(r.ret_type == 0 || r.ret_type == FTAPI_ReqReplyType_DisConnect);
        CHECK(api->GetUserSecurityGroup(request(3)) == 0);
        CHECK(api->Close());  // idempotent
        CHECK(rec.disconnected.count() == 1);
    });
    run("reconnect_after_close", [] {
        Recorder rec;
        Api api(connect(rec));
        CHECK(api->Close());
        CHECK(api->InitConnect(kHost, g_port, false));
        CHECK(rec.inited.wait(2));
        CHECK(rec.init_err == 0);
        CHECK(api->GetUserSecurityGroup(request(1)) != 0);
        CHECK(rec.replied.wait());
        CHECK(rec.reply(0).ret_type == 0);
    });
    run("release_inside_callback", [] {
        struct Releaser : Recorder {
            FTAPI_Qot* api = nullptr;
            void OnReply_GetUserSecurityGroup(u32_t n, const pb::Response& r) override {
                FTAPI::ReleaseQotApi(api);  // allowed inside a callback
                api = nullptr;
                Recorder::OnReply_GetUserSecurityGroup(n, r);
            }
        } rec;
        rec.api = connect(rec);
        CHECK(rec.api->GetUserSecurityGroup(request(3)) != 0);
        CHECK(rec.replied.wait());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(rec.api == nullptr);
        CHECK(rec.replied.count() == 1);
    });
    run("moomoo_sample_flow", [] {
        using namespace moomoo;
        struct MM : MMSPI_Qot, MMSPI_Conn {
            Signal done;
            moomoo::u32_t serial = 0;
            int n = -1;
            void OnReply_GetUserSecurityGroup(moomoo::u32_t s, const pb::Response& r) override {
                serial = s;
                n = r.s2c().grouplist_size();
                done.notify();
            }
        } spi;
        MMAPI::Init();
        MMAPI_Qot* api = MMAPI::CreateQotApi();
        api->RegisterQotSpi(&spi);
        api->RegisterConnSpi(&spi);
        Recorder rec;
        api->RegisterConnSpi(&rec);
        CHECK(api->InitConnect(kHost, g_port, false));
        CHECK(rec.inited.wait() && rec.init_err == 0);
        moomoo::u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(spi.done.wait());
        CHECK(spi.serial == s && spi.n == 12);
        api->UnregisterQotSpi();
        api->UnregisterConnSpi();
        MMAPI::ReleaseQotApi(api);
        MMAPI::UnInit();
    });
#ifdef FTAPI_WITH_PROTOBUF
    run("protobuf_mode_real_messages", [] {
        pb::Request req = request(3);
        std::string bytes;
        CHECK(req.SerializeToString(&bytes));
        CHECK(bytes.size() >= 4);
        CHECK(std::string(pb::Response::descriptor()->full_name()) ==
              "Qot_GetUserSecurityGroup.Response");
        // The reply the SPI gets is the message parsed from the library's pb bytes.
        struct Spi : FTSPI_Qot {
            Signal done;
            std::string bytes;
            void OnReply_GetUserSecurityGroup(u32_t, const pb::Response& r) override {
                r.SerializeToString(&bytes);
                done.notify();
            }
        } spi;
        Recorder rec;
        Api api(connect(rec));
        api->RegisterQotSpi(&spi);
        CHECK(api->GetUserSecurityGroup(req) != 0);
        CHECK(spi.done.wait());
        pb::Response again;
        CHECK(again.ParseFromString(spi.bytes));
        CHECK(again.IsInitialized() && again.rettype() == 0);
        CHECK(again.s2c().grouplist_size() == 12);
        CHECK(again.s2c().grouplist(11).groupname() == "C");
    });
#else
    run("light_mode_value_types", [] {
        pb::Request req;
        CHECK(!req.has_c2s() && !req.IsInitialized());
        req.mutable_c2s()->set_grouptype(2);
        CHECK(req.IsInitialized() && req.c2s().grouptype() == 2);
        pb::Response r;
        r.mutable_s2c()->add_grouplist()->set_groupname("x");
        CHECK(r.has_s2c() && r.s2c().grouplist_size() == 1);
        int n = 0;
        for (const auto& g : r.s2c().grouplist()) n += g.groupname() == "x";
        CHECK(n == 1);
    });
#endif
    run("modern_async_sync_and_errors", [] {
        ftapi::Qot qot;
        Signal inited, got;
        std::int64_t err = -1;
        ftapi::GroupsReply async_reply;
        std::uint32_t async_serial = 0;
        bool sync_in_cb_threw = false;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t e, const std::string&) {
               err = e;
               inited.notify();
           })
            .on_groups([&](ftapi::Qot& q, std::uint32_t s, const ftapi::GroupsReply& r) {
                async_serial = s;
                async_reply = r;
                try {
                    q.get_user_security_group_sync(ftapi::GroupType::All);
                } catch (const ftapi::Error& e) {
                    sync_in_cb_threw = e.code() == FTAPI_ERR_IN_CALLBACK;
                }
                got.notify();
            });
        try {
            qot.get_user_security_group(ftapi::GroupType::All);
            throw Failure("no exception before connect");
        } catch (const ftapi::Error& e) {
            CHECK(e.code() == FTAPI_ERR_NOT_READY);
        }
        qot.connect(kHost, g_port);
        CHECK(inited.wait() && err == 0);
        CHECK(qot.connect_id() != 0);
        try {
            qot.connect(kHost, g_port);
            throw Failure("second connect accepted");
        } catch (const ftapi::Error& e) {
            CHECK(e.code() == FTAPI_ERR_ALREADY_CONNECTED);
        }
        try {
            qot.get_user_security_group(static_cast<ftapi::GroupType>(9));
            throw Failure("bad group type accepted");
        } catch (const ftapi::Error& e) {
            CHECK(e.code() == FTAPI_ERR_INVALID_GROUP_TYPE);
        }
        std::uint32_t s = qot.get_user_security_group(ftapi::GroupType::All);
        CHECK(got.wait());
        CHECK(async_serial == s && async_reply.ok() && async_reply.groups.size() == 12);
        CHECK(async_reply.groups[10].name == "A" && async_reply.groups[10].type == 1);
        CHECK(!async_reply.pb.empty());
        CHECK(sync_in_cb_threw);
        ftapi::GroupsReply r = qot.get_user_security_group_sync(ftapi::GroupType::System, 5000);
        CHECK(r.ok() && r.groups.size() == 10 && r.groups[1].name == "Starred");
        qot.close();
        CHECK(qot.state() == ftapi::State::Closed);
    });
    run("modern_handler_replacement_releases_old", [] {
        ftapi::Qot qot;
        auto token = std::make_shared<int>(1);
        std::weak_ptr<int> watch = token;
        qot.on_groups([token](ftapi::Qot&, std::uint32_t, const ftapi::GroupsReply&) {});
        token.reset();
        CHECK(!watch.expired());  // held by the installed handler
        Signal got;
        std::string first;
        qot.on_groups([&](ftapi::Qot&, std::uint32_t, const ftapi::GroupsReply& r) {
            if (!r.groups.empty()) first = r.groups[0].name;
            got.notify();
        });
        CHECK(watch.expired());  // the old table's copy was freed
        Signal inited;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) { inited.notify(); });
        qot.connect(kHost, g_port);
        CHECK(inited.wait());
        qot.get_user_security_group(ftapi::GroupType::Custom);
        CHECK(got.wait() && first == "A");
    });
    run("modern_exception_in_handler", [] {
        ftapi::Qot qot;
        Signal inited, got;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) {
            inited.notify();
            throw std::logic_error("thrown from on_init_connect on purpose");
        });
        qot.on_groups([&](ftapi::Qot&, std::uint32_t, const ftapi::GroupsReply&) {
            got.notify();
            throw std::runtime_error("thrown from on_groups on purpose");
        });
        qot.connect(kHost, g_port);
        CHECK(inited.wait());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        qot.get_user_security_group(ftapi::GroupType::All);
        qot.get_user_security_group(ftapi::GroupType::All);
        CHECK(got.wait(2));
        CHECK(qot.get_user_security_group_sync(ftapi::GroupType::Custom).ok());
    });
}

void group_zh() {
    run("chinese_group_names", [] {
        Recorder rec;
        Api api(connect(rec));
        api->GetUserSecurityGroup(request(3));
        CHECK(rec.replied.wait());
        Reply r = rec.reply(0);
        CHECK(r.ret_type == 0);
        const std::vector<std::pair<std::string, int>> want = {
            {"全部", 2}, {"特别关注", 2}, {"沪深", 2}, {"港股", 2}, {"美股", 2},
            {"期权", 2}, {"港股期权", 2}, {"美股期权", 2}, {"期货", 2}, {"债券", 2},
            {"A", 1}, {"C", 1}};
        CHECK(r.groups == want);
        ftapi::Qot qot;
        Signal inited;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) { inited.notify(); });
        qot.connect(kHost, g_port);
        CHECK(inited.wait());
        ftapi::GroupsReply s = qot.get_user_security_group_sync(ftapi::GroupType::System);
        CHECK(s.ok() && s.groups.size() == 10 && s.groups[7].name == "美股期权");
    });
}

// opend-sim --omit-ret-fields: replies without retMsg and errCode; neither API may invent them.
void group_bare() {
    run("absent_reply_fields_stay_absent", [] {
        Recorder rec;
        Api api(connect(rec));
        api->GetUserSecurityGroup(request(pb::GroupType_All));
        CHECK(rec.replied.wait());
        Reply r = rec.reply(0);
        CHECK(r.ret_type == 0 && r.has_s2c && r.groups == kEnAll);
        CHECK(!r.has_ret_msg && r.ret_msg.empty());
        CHECK(!r.has_err_code && r.err_code == 0);
        ftapi::Qot qot;
        Signal inited;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) { inited.notify(); });
        qot.connect(kHost, g_port);
        CHECK(inited.wait());
        ftapi::GroupsReply g = qot.get_user_security_group_sync(ftapi::GroupType::All);
        CHECK(g.ok() && g.has_s2c && !g.has_ret_msg && !g.has_err_code);
        CHECK(g.ret_msg.empty() && g.err_code == 0);
    });
}

void group_withhold() {
    run("timeout_outcome_minus_100", [] {
        Recorder rec;
        Api api(connect(rec, 400));
        auto t0 = std::chrono::steady_clock::now();
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(s != 0);
        CHECK(rec.replied.wait(1, 8000));
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0).count();
        Reply r = rec.reply(0);
        CHECK(r.serial == s);
        CHECK(r.ret_type == FTAPI_ReqReplyType_Timeout);
        CHECK(r.groups.empty());
        CHECK(!r.has_s2c);  // a library-made outcome: retMsg only, as the library sent it
        CHECK(ms >= 300);
        CHECK(api->GetState() == FTAPI_STATE_READY);  // a timeout does not end the connection
        CHECK(rec.disconnects.empty());
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(rec.replied.count() == 1);  // exactly one outcome
    });
    run("modern_sync_timeout", [] {
        ftapi::Qot qot;
        qot.set_request_timeout(300);
        Signal inited;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) { inited.notify(); });
        qot.connect(kHost, g_port);
        CHECK(inited.wait());
        ftapi::GroupsReply r = qot.get_user_security_group_sync(ftapi::GroupType::All);
        CHECK(r.ret_type == FTAPI_REPLY_TIMEOUT && !r.ok());
    });
    run("close_with_pending_gives_minus_200", [] {
        Recorder rec;
        Api api(connect(rec));
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(s != 0);
        CHECK(api->Close());
        CHECK(rec.replied.count() == 1);
        CHECK(rec.reply(0).serial == s && rec.reply(0).ret_type == FTAPI_ReqReplyType_DisConnect);
        CHECK(rec.disconnects.size() == 1 && rec.disconnects[0] == 0);
    });
    run("uninit_closes_every_open_connection", [] {
        // The library's exit policy (ftapi_close_all) at the official UnInit: every
        // connection still open is closed, each pending request getting its one -200.
        Recorder a, b;
        Api api_a(connect(a));
        Api api_b(connect(b));
        CHECK(api_a->GetUserSecurityGroup(request(3)) != 0);
        CHECK(api_b->GetUserSecurityGroup(request(1)) != 0);
        FTAPI::UnInit();
        for (Recorder* r : {&a, &b}) {
            CHECK(r->replied.count() == 1 && r->reply(0).ret_type == FTAPI_ReqReplyType_DisConnect);
            CHECK(r->disconnects.size() == 1 && r->disconnects[0] == 0);
        }
        CHECK(api_a->GetState() == FTAPI_STATE_CLOSED && api_b->GetState() == FTAPI_STATE_CLOSED);
        FTAPI::Init();
        Recorder c;
        Api api_c(connect(c));  // the library works on after it
        CHECK(api_c->GetState() == FTAPI_STATE_READY);
    });
}

void group_close_after() {
    run("server_close_minus_200_then_disconnect", [] {
        struct Order : Recorder {
            std::vector<std::string> events;
            void OnReply_GetUserSecurityGroup(u32_t n, const pb::Response& r) override {
                { std::lock_guard<std::mutex> l(m); events.push_back("reply"); }
                Recorder::OnReply_GetUserSecurityGroup(n, r);
            }
            void OnDisConnect(FTAPI_Conn* c, i64_t e) override {
                { std::lock_guard<std::mutex> l(m); events.push_back("disconnect"); }
                Recorder::OnDisConnect(c, e);
            }
        } rec;
        Api api(connect(rec));
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(s != 0);
        CHECK(rec.disconnected.wait());
        CHECK(rec.replied.count() == 1);
        CHECK(rec.reply(0).serial == s);
        CHECK(rec.reply(0).ret_type == FTAPI_ReqReplyType_DisConnect);
        CHECK(rec.disconnects[0] != 0);
        CHECK(ftapi_err_code_high(rec.disconnects[0]) == FTAPI_CONNECT_FAIL_RECV);
        CHECK((rec.events == std::vector<std::string>{"reply", "disconnect"}));
        CHECK(api->GetUserSecurityGroup(request(3)) == 0);
    });
}

void group_reject() {
    run("opend_rejects_init", [] {
        Recorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterConnSpi(&rec);
        CHECK(api->InitConnect(kHost, g_port, false));
        CHECK(rec.inited.wait());
        CHECK(rec.init_err == ((static_cast<i64_t>(100) << 32) | InitFailType_OpenDReject));
        CHECK(rec.init_desc.find("go away") != std::string::npos);
        CHECK(api->GetConnectID() == 0);
    });
}

// OpenD's WebSocket door (opend-sim --ws-port 0 --ws-key cpp-key; PORT is that door's).
void group_websocket() {
    run("websocket_door_official_shape", [] {
        Recorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterQotSpi(&rec);
        api->RegisterConnSpi(&rec);
        CHECK(api->InitConnectWebSocket(kHost, g_port, false, "cpp-key"));
        CHECK(rec.inited.wait());
        CHECK(rec.init_err == 0 && api->GetConnectID() != 0);
        u32_t s = api->GetUserSecurityGroup(request(1));
        CHECK(s != 0);
        CHECK(rec.replied.wait());
        Reply r = rec.reply(0);
        CHECK(r.serial == s && r.ret_type == 0);
        const std::vector<std::pair<std::string, int>> want = {{"A", 1}, {"C", 1}};
        CHECK(r.groups == want);
    });
    run("websocket_wrong_key_is_refused", [] {
        Recorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterConnSpi(&rec);
        CHECK(api->InitConnectWebSocket(kHost, g_port, false, "not the key"));
        CHECK(rec.inited.wait());
        CHECK(rec.init_err == ((static_cast<i64_t>(100) << 32) | InitFailType_OpenDReject));
        CHECK(rec.init_desc.find("WebSocket key") != std::string::npos);
        CHECK(!api->SetTlsCaFile("/nonexistent/ca.pem"));
    });
    run("websocket_modern", [] {
        ftapi::Qot qot;
        Signal inited;
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t, const std::string&) { inited.notify(); });
        qot.connect_ws(kHost, g_port, false, "cpp-key");
        CHECK(inited.wait());
        ftapi::GroupsReply s = qot.get_user_security_group_sync(ftapi::GroupType::System);
        CHECK(s.ok() && s.groups.size() == 10);
        bool threw = false;
        try {
            qot.set_tls_ca_file("/nonexistent/ca.pem");
        } catch (const ftapi::Error& e) {
            threw = e.code() == FTAPI_ERR_BAD_CA_FILE;
        }
        CHECK(threw);
    });
}

void group_corrupt() {
    // A reply whose SHA-1 does not match is never delivered as data: the library
    // treats it as a broken stream (-200) or an unparsable reply (-500).
    run("corrupt_reply_is_an_error_outcome", [] {
        Recorder rec;
        Api api(connect(rec));
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(rec.replied.wait());
        CHECK(rec.reply(0).serial == s);
        const int rt = rec.reply(0).ret_type;
        CHECK(rt == FTAPI_REPLY_INVALID || rt == FTAPI_REPLY_DISCONNECT);
        CHECK(rec.reply(0).groups.empty());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(rec.replied.count() == 1);
    });
}


// ---- Beyond the official SDKs: limiter, auto-reconnect, state and log callbacks. ----
// These tests start opend-sim themselves ($OPEND_SIM), since a restart on the same port
// is part of them.

double now_ms() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

class SimProc {
public:
    // Starts opend-sim on `port` (0: a free one) with extra flags; waits for its port.
    explicit SimProc(std::uint16_t port = 0, std::vector<std::string> extra = {}) { start(port, extra); }
    ~SimProc() { stop(); }
    void start(std::uint16_t want, std::vector<std::string> extra = {}) {
        const char* sim = std::getenv("OPEND_SIM");
        if (sim == nullptr) throw Failure("OPEND_SIM not set");
        file_ = "/tmp/ftapi-cpp-features-" + std::to_string(::getpid()) + ".port";
        ::unlink(file_.c_str());
        std::vector<std::string> args = {sim, "--port", std::to_string(want), "--port-file", file_,
                                         "--rate-limit", "off"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(&a[0]);
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0) throw Failure("fork failed");
        if (pid_ == 0) {
            if (!std::freopen("/dev/null", "w", stdout)) _exit(126);
            ::execv(argv[0], argv.data());
            _exit(127);
        }
        for (int i = 0; i < 1000; ++i) {
            std::ifstream f(file_);
            unsigned p = 0;
            if (f >> p && p > 0) {
                port = static_cast<std::uint16_t>(p);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        stop();
        throw Failure("opend-sim did not start");
    }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
            pid_ = 0;
        }
    }
    std::uint16_t port = 0;

private:
    pid_t pid_ = 0;
    std::string file_;
};

template <class F>
bool wait_until(F cond, int ms = 10000) {
    for (int i = 0; i < ms / 10; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

// One letter per state: connecting, initializing, ready, closing(X), closed(D), reconnecting(r).
char state_letter(int s) { return (s >= 0 && s <= 5) ? "CIRXDr"[s] : '?'; }

struct StateRecorder : Recorder {
    std::string states;
    int inits_ok = 0;
    void OnStateChange(FTAPI_Conn*, i32_t nState, const char* szReason) override {
        CHECK(szReason != nullptr);
        std::lock_guard<std::mutex> l(m);
        states.push_back(state_letter(nState));
    }
    void OnInitConnect(FTAPI_Conn* c, i64_t e, const char* d) override {
        {
            std::lock_guard<std::mutex> l(m);
            if (e == 0) ++inits_ok;
        }
        Recorder::OnInitConnect(c, e, d);
    }
    std::string seq() {
        std::lock_guard<std::mutex> l(m);
        return states;
    }
};

void group_features() {
    run("official_rate_limit_fail_fast_11th_is_minus_300", [] {
        SimProc sim;
        Recorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterQotSpi(&rec);
        api->RegisterConnSpi(&rec);
        CHECK(!api->SetRateLimitMode(7));
        CHECK(!api->SetRateLimit(3222, 10, 0));
        CHECK(api->SetRateLimitMode(FTAPI_RATE_LIMIT_FAIL_FAST));
        CHECK(api->SetRateLimit(3222, 10, 1500));
        CHECK(api->InitConnect(kHost, sim.port, false));
        i64_t err = -1;
        CHECK(api->WaitInit(10000, &err) && err == 0);
        for (int i = 0; i < 10; ++i) {
            CHECK(api->GetUserSecurityGroup(request(3)) != 0);
            CHECK(rec.replied.wait(i + 1));
            CHECK(rec.reply(i).ret_type == 0 && rec.reply(i).groups == kEnAll);
        }
        const double t = now_ms();
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(s != 0);
        CHECK(rec.replied.wait(11, 1000));
        CHECK(now_ms() - t < 300);
        Reply r = rec.reply(10);
        CHECK(r.serial == s && r.ret_type == FTAPI_ReqReplyType_RateLimited);
        CHECK(r.ret_msg.find("next slot frees in") != std::string::npos);
        CHECK(r.groups.empty());
    });
    run("modern_rate_limit_fail_fast_sync", [] {
        SimProc sim;
        ftapi::Qot qot;
        qot.set_rate_limit_mode(ftapi::RateLimitMode::FailFast);
        qot.set_rate_limit(3222, 3, 1500);
        bool threw = false;
        try { qot.set_rate_limit(3222, 1, 0); } catch (const ftapi::Error& e) {
            threw = e.code() == FTAPI_ERR_INVALID_ARGUMENT;
        }
        CHECK(threw);
        qot.connect(kHost, sim.port);
        CHECK(qot.wait_init(10000) == 0);
        for (int i = 0; i < 3; ++i) CHECK(qot.get_user_security_group_sync(ftapi::GroupType::All, 5000).ok());
        ftapi::GroupsReply r = qot.get_user_security_group_sync(ftapi::GroupType::All, 5000);
        CHECK(r.ret_type == ftapi::kReplyRateLimited);
        CHECK(r.ret_msg.find("rate limited locally") != std::string::npos);
        CHECK(r.groups.empty());
    });
    run("modern_rate_limit_wait_holds_11th", [] {
        SimProc sim;
        ftapi::Qot qot;
        qot.set_rate_limit_mode(ftapi::RateLimitMode::Wait);
        qot.set_rate_limit(3222, 10, 1500);
        qot.connect(kHost, sim.port);
        CHECK(qot.wait_init(10000) == 0);
        const double t0 = now_ms();
        for (int i = 0; i < 10; ++i) CHECK(qot.get_user_security_group_sync(ftapi::GroupType::All, 5000).ok());
        const double t1 = now_ms();
        ftapi::GroupsReply r = qot.get_user_security_group_sync(ftapi::GroupType::All, 5000);
        CHECK(r.ok() && r.groups.size() == kEnAll.size());
        CHECK(now_ms() - t0 >= 1400);
        CHECK(now_ms() - t1 >= 100);  // it was really held
    });
    run("official_auto_reconnect_across_sim_restart", [] {
        SimProc sim;
        const std::uint16_t port = sim.port;
        StateRecorder rec;
        Api api(FTAPI::CreateQotApi());
        api->RegisterQotSpi(&rec);
        api->RegisterConnSpi(&rec);
        CHECK(api->SetAutoReconnect(true, 100, 400));
        CHECK(api->InitConnect(kHost, port, false));
        i64_t err = -1;
        CHECK(api->WaitInit(10000, &err) && err == 0);
        const u64_t id1 = api->GetConnectID();
        CHECK(id1 != 0 && api->GetServerVer() > 0);
        sim.stop();
        CHECK(wait_until([&] { return api->GetState() == FTAPI_STATE_RECONNECTING; }));
        CHECK(api->GetUserSecurityGroup(request(3)) == 0);  // FTAPI_ERR_RECONNECTING
        // The state is published before the session's last outcomes and OnDisConnect run
        // on the library's thread (new sends must see it first), so wait for the callback.
        CHECK(rec.disconnected.wait(1));
        CHECK(rec.disconnected.count() == 1 && rec.disconnects[0] != 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        sim.start(port);
        CHECK(sim.port == port);
        CHECK(wait_until([&] { return api->GetState() == FTAPI_STATE_READY; }));
        CHECK(rec.inited.wait(2));
        const u64_t id2 = api->GetConnectID();
        CHECK(id2 != 0 && id2 != id1);
        u32_t s = api->GetUserSecurityGroup(request(3));
        CHECK(s != 0);
        CHECK(rec.replied.wait(1));
        CHECK(rec.reply(0).serial == s && rec.reply(0).ret_type == 0 && rec.reply(0).groups == kEnAll);
        CHECK(api->Close());
        CHECK(rec.seq() == "CIRrRXD");
        CHECK(rec.inits_ok == 2 && rec.disconnected.count() == 2);
    });
    run("modern_auto_reconnect_across_sim_restart", [] {
        SimProc sim;
        const std::uint16_t port = sim.port;
        std::mutex m;
        std::vector<ftapi::State> states;
        std::atomic<int> inits{0};
        ftapi::Qot qot;
        qot.on_state_change([&](ftapi::Qot& q, ftapi::State st, const std::string&) {
            CHECK(&q == &qot);
            std::lock_guard<std::mutex> l(m);
            states.push_back(st);
        });
        qot.on_init_connect([&](ftapi::Qot&, std::int64_t e, const std::string&) { if (e == 0) ++inits; });
        ftapi::ReconnectOptions o;
        o.initial_ms = 100;
        o.max_ms = 400;
        qot.set_auto_reconnect(o);
        qot.connect(kHost, port);
        CHECK(qot.wait_init(10000) == 0);
        const std::uint64_t id1 = qot.connect_id();
        sim.stop();
        CHECK(wait_until([&] { return qot.state() == ftapi::State::Reconnecting; }));
        bool threw = false;
        try { qot.get_user_security_group(ftapi::GroupType::All); } catch (const ftapi::Error& e) {
            threw = e.code() == FTAPI_ERR_RECONNECTING;
        }
        CHECK(threw);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        sim.start(port);
        CHECK(wait_until([&] { return qot.state() == ftapi::State::Ready && inits.load() == 2; }));
        CHECK(qot.connect_id() != 0 && qot.connect_id() != id1);
        ftapi::GroupsReply r = qot.get_user_security_group_sync(ftapi::GroupType::Custom, 5000);
        CHECK(r.ok() && r.groups.size() == 2 && r.groups[0].name == "A");
        qot.close();
        std::lock_guard<std::mutex> l(m);
        using S = ftapi::State;
        CHECK((states == std::vector<S>{S::Connecting, S::Initializing, S::Ready, S::Reconnecting,
                                        S::Ready, S::Closing, S::Closed}));
    });
    run("modern_no_auto_reconnect_ends_closed", [] {
        SimProc sim;
        std::mutex m;
        std::string seq;
        ftapi::Qot qot;
        qot.on_state_change([&](ftapi::Qot&, ftapi::State st, const std::string&) {
            std::lock_guard<std::mutex> l(m);
            seq.push_back(state_letter(static_cast<int>(st)));
        });
        qot.connect(kHost, sim.port);
        CHECK(qot.wait_init(10000) == 0);
        sim.stop();
        CHECK(wait_until([&] { return qot.state() == ftapi::State::Closed; }));
        std::this_thread::sleep_for(std::chrono::milliseconds(700));  // no reconnect attempt
        CHECK(qot.state() == ftapi::State::Closed);
        bool threw = false;
        try { qot.get_user_security_group(ftapi::GroupType::All); } catch (const ftapi::Error& e) {
            threw = e.code() == FTAPI_ERR_CLOSED;
        }
        CHECK(threw);
        std::lock_guard<std::mutex> l(m);
        CHECK(seq == "CIRXD");
    });
    run("official_no_auto_reconnect_ends_closed", [] {
        SimProc sim;
        StateRecorder rec;
        Api api(connect_to(rec, sim.port));
        sim.stop();
        CHECK(rec.disconnected.wait());
        CHECK(wait_until([&] { return api->GetState() == FTAPI_STATE_CLOSED; }));
        CHECK(api->GetUserSecurityGroup(request(3)) == 0);
        CHECK(rec.seq() == "CIRXD");
    });
    run("log_callback_packet_lines_no_key", [] {
        const char* key_path = std::getenv("FTAPI_TEST_KEY");
        CHECK(key_path != nullptr);
        std::ifstream kf(key_path);
        std::stringstream ks;
        ks << kf.rdbuf();
        const std::string pem = ks.str();
        const std::size_t nl = pem.find('\n');
        CHECK(nl != std::string::npos && pem.size() > nl + 17);
        const std::string fragment = pem.substr(nl + 1, 16);
        std::mutex m;
        std::vector<std::string> lines;
        std::atomic<bool> bad_level{false};
        ftapi::SetLogCallback([&](ftapi::LogLevel lv, const std::string& target, const std::string& msg) {
            if (lv < ftapi::LogLevel::Error || lv > ftapi::LogLevel::Trace || target.empty()) bad_level = true;
            std::lock_guard<std::mutex> l(m);
            lines.push_back(msg);
        }, ftapi::LogLevel::Trace);
        std::string joined;
        {
            SimProc sim(0, {"--rsa-key", key_path});
            ftapi::Qot qot;
            qot.set_rsa_private_key(pem);
            qot.connect(kHost, sim.port, true);
            CHECK(qot.wait_init(10000) == 0);
            CHECK(qot.server_ver() > 0);
            CHECK(qot.get_user_security_group_sync(ftapi::GroupType::All, 5000).ok());
        }
        ftapi::clear_log_callback();
        std::size_t n_after_clear;
        {
            std::lock_guard<std::mutex> l(m);
            n_after_clear = lines.size();
            for (auto& x : lines) joined += x + "\n";
        }
        CHECK(!bad_level.load());
        CHECK(joined.find("send proto=3222 serial=2") != std::string::npos);
        CHECK(joined.find("recv proto=3222 serial=2") != std::string::npos);
        CHECK(joined.find("latency_us=") != std::string::npos);
        CHECK(joined.find("serverVer=") != std::string::npos);
        CHECK(joined.find("BEGIN") == std::string::npos);
        CHECK(joined.find(fragment) == std::string::npos);
        {   // cleared: nothing more arrives
            SimProc sim;
            ftapi::Qot qot;
            qot.connect(kHost, sim.port);
            CHECK(qot.wait_init(10000) == 0);
        }
        std::lock_guard<std::mutex> l(m);
        CHECK(lines.size() == n_after_clear);
    });
    run("log_callback_level_filter_and_throwing_handler", [] {
        std::atomic<int> above_info{0}, calls{0};
        ftapi::set_log_callback([&](ftapi::LogLevel lv, const std::string&, const std::string&) {
            ++calls;
            if (lv > ftapi::LogLevel::Info) ++above_info;
            throw std::runtime_error("thrown from the log handler on purpose");
        }, ftapi::LogLevel::Info);
        {
            SimProc sim;
            ftapi::Qot qot;
            qot.connect(kHost, sim.port);
            CHECK(qot.wait_init(10000) == 0);
            CHECK(qot.get_user_security_group_sync(ftapi::GroupType::System, 5000).ok());
        }
        ftapi::set_log_callback(nullptr);
        CHECK(calls.load() > 0);          // the info "connected" line at least
        CHECK(above_info.load() == 0);    // no debug packet lines at Info
    });
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s GROUP [PORT]\n", argv[0]);
        return 2;
    }
    std::string group = argv[1];
    if (argc > 2) g_port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    if (group == "env") group_env();
    else if (group == "default") group_default();
    else if (group == "zh") group_zh();
    else if (group == "bare") group_bare();
    else if (group == "withhold") group_withhold();
    else if (group == "close-after") group_close_after();
    else if (group == "reject") group_reject();
    else if (group == "corrupt") group_corrupt();
    else if (group == "websocket") group_websocket();
    else if (group == "features") group_features();
    else {
        std::fprintf(stderr, "unknown group %s\n", group.c_str());
        return 2;
    }
    google::protobuf::ShutdownProtobufLibrary();
    return g_fail == 0 ? 0 : 1;
}
