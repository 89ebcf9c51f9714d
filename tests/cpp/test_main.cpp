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
#include <sys/socket.h>
#include <unistd.h>

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
        CHECK(qot.state() == FTAPI_STATE_CLOSED);
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
    else if (group == "withhold") group_withhold();
    else if (group == "close-after") group_close_after();
    else if (group == "reject") group_reject();
    else if (group == "corrupt") group_corrupt();
    else {
        std::fprintf(stderr, "unknown group %s\n", group.c_str());
        return 2;
    }
    google::protobuf::ShutdownProtobufLibrary();
    return g_fail == 0 ? 0 : 1;
}
