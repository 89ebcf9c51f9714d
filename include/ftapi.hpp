/*
 * ftapi.hpp: header-only C++ binding of libftapi (C ABI in ftapi.h).
 *
 * Two layers, both over the same C ABI:
 *
 *  1. The official C++ SDK shape, in namespace Futu (and the same classes under the
 *     moomoo names in namespace moomoo): FTAPI::Init / CreateQotApi / ReleaseQotApi,
 *     FTAPI_Conn / FTAPI_Qot, FTSPI_Conn / FTSPI_Qot. A program written against the
 *     official SDK builds with only its #include and link line changed.
 *
 *  2. A modern RAII API, namespace ftapi: ftapi::Qot with std::function handlers,
 *     exceptions for call errors, and a blocking get_user_security_group_sync.
 *
 * Messages. Define FTAPI_WITH_PROTOBUF (and put the directory holding the code that
 * `protoc --cpp_out` generated from proto/ on the include path, linking the generated
 * .pb.cc files and libprotobuf) to get the real protobuf classes
 * Qot_GetUserSecurityGroup::Request / Response. Without it this header defines light
 * value types with the same accessor names (mutable_c2s(), set_grouptype(),
 * rettype(), retmsg(), errcode(), has_s2c(), s2c().grouplist_size(),
 * s2c().grouplist(i).groupname(), ...), so the same source builds both ways. In light
 * mode a no-op google::protobuf::ShutdownProtobufLibrary() is provided too (define
 * FTAPI_NO_PROTOBUF_SHIM to leave it out).
 *
 * Threading. Callbacks run on the library's I/O thread, never overlap for one
 * connection, and never run re-entrantly on the caller's thread. Every trampoline is
 * noexcept: an exception thrown by a callback is caught, reported on stderr, and the
 * connection goes on. After UnregisterQotSpi / UnregisterConnSpi (or a handler setter
 * of ftapi::Qot) returns on a thread other than the I/O thread, no callback of the old
 * SPI is running or will run, so the SPI object may be destroyed.
 *
 * Link: -lftapi (shared) or libftapi.a -lpthread -ldl -lm (static).
 */
#ifndef FTAPI_HPP
#define FTAPI_HPP

#include "ftapi.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifdef FTAPI_WITH_PROTOBUF
#include "Qot_GetUserSecurityGroup.pb.h"
#else

/* ---------------------------------------------------------------------------------
 * Light message types (no protobuf): same accessors as the protoc-generated classes.
 * ------------------------------------------------------------------------------- */
namespace Qot_GetUserSecurityGroup {

enum GroupType {
    GroupType_Unknown = 0,
    GroupType_Custom = 1,
    GroupType_System = 2,
    GroupType_All = 3
};

class C2S {
public:
    C2S() : groupType_(0), has_groupType_(false) {}
    std::int32_t grouptype() const { return groupType_; }
    void set_grouptype(std::int32_t v) { groupType_ = v; has_groupType_ = true; }
    bool has_grouptype() const { return has_groupType_; }
    void clear_grouptype() { groupType_ = 0; has_groupType_ = false; }
    bool IsInitialized() const { return has_groupType_; }

private:
    std::int32_t groupType_;
    bool has_groupType_;
};

class Request {
public:
    Request() : has_c2s_(false) {}
    const C2S& c2s() const { return c2s_; }
    C2S* mutable_c2s() { has_c2s_ = true; return &c2s_; }
    bool has_c2s() const { return has_c2s_; }
    void clear_c2s() { c2s_ = C2S(); has_c2s_ = false; }
    bool IsInitialized() const { return has_c2s_ && c2s_.IsInitialized(); }

private:
    C2S c2s_;
    bool has_c2s_;
};

class GroupData {
public:
    GroupData() : groupType_(0), has_groupName_(false), has_groupType_(false) {}
    const std::string& groupname() const { return groupName_; }
    void set_groupname(const std::string& v) { groupName_ = v; has_groupName_ = true; }
    std::string* mutable_groupname() { has_groupName_ = true; return &groupName_; }
    bool has_groupname() const { return has_groupName_; }
    std::int32_t grouptype() const { return groupType_; }
    void set_grouptype(std::int32_t v) { groupType_ = v; has_groupType_ = true; }
    bool has_grouptype() const { return has_groupType_; }

private:
    std::string groupName_;
    std::int32_t groupType_;
    bool has_groupName_;
    bool has_groupType_;
};

class S2C {
public:
    int grouplist_size() const { return static_cast<int>(groupList_.size()); }
    const GroupData& grouplist(int i) const { return groupList_.at(static_cast<std::size_t>(i)); }
    GroupData* mutable_grouplist(int i) { return &groupList_.at(static_cast<std::size_t>(i)); }
    GroupData* add_grouplist() { groupList_.push_back(GroupData()); return &groupList_.back(); }
    /* Iterable like protobuf's RepeatedPtrField: for (const auto& g : s2c.grouplist()). */
    const std::vector<GroupData>& grouplist() const { return groupList_; }
    void clear_grouplist() { groupList_.clear(); }

private:
    std::vector<GroupData> groupList_;
};

class Response {
public:
    Response()
        : retType_(-400), errCode_(0), has_retType_(false), has_retMsg_(false),
          has_errCode_(false), has_s2c_(false) {}
    std::int32_t rettype() const { return retType_; }
    void set_rettype(std::int32_t v) { retType_ = v; has_retType_ = true; }
    bool has_rettype() const { return has_retType_; }
    const std::string& retmsg() const { return retMsg_; }
    void set_retmsg(const std::string& v) { retMsg_ = v; has_retMsg_ = true; }
    bool has_retmsg() const { return has_retMsg_; }
    std::int32_t errcode() const { return errCode_; }
    void set_errcode(std::int32_t v) { errCode_ = v; has_errCode_ = true; }
    bool has_errcode() const { return has_errCode_; }
    const S2C& s2c() const { return s2c_; }
    S2C* mutable_s2c() { has_s2c_ = true; return &s2c_; }
    bool has_s2c() const { return has_s2c_; }
    bool IsInitialized() const { return has_retType_; }

private:
    std::int32_t retType_;
    std::string retMsg_;
    std::int32_t errCode_;
    S2C s2c_;
    bool has_retType_;
    bool has_retMsg_;
    bool has_errCode_;
    bool has_s2c_;
};

} // namespace Qot_GetUserSecurityGroup

#ifndef FTAPI_NO_PROTOBUF_SHIM
namespace google {
namespace protobuf {
/* No-op stand-in so the official sample's last lines build without protobuf. */
inline void ShutdownProtobufLibrary() {}
} // namespace protobuf
} // namespace google
#endif

#endif /* FTAPI_WITH_PROTOBUF */

namespace ftapi {
namespace detail {

/* Reports an exception that a user callback threw; it never reaches the library. */
inline void report_callback_exception(const char* where) noexcept {
    try {
        throw;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ftapi: exception in %s: %s\n", where, e.what());
    } catch (...) {
        std::fprintf(stderr, "ftapi: unknown exception in %s\n", where);
    }
}

inline const char* safe_str(const char* s) noexcept { return s != nullptr ? s : ""; }

/* Builds the message the SPI gets from the C reply, in either mode: the fields the library
 * decoded, each present exactly when OpenD sent it (has_ret_msg, has_err_code, has_s2c);
 * nothing is parsed again. */
inline void fill_response(const FtapiUserSecurityGroupReply* r,
                          Qot_GetUserSecurityGroup::Response& rsp) {
    rsp.set_rettype(r->ret_type);
    if (r->has_ret_msg) rsp.set_retmsg(safe_str(r->ret_msg));
    if (r->has_err_code) rsp.set_errcode(r->err_code);
    if (r->has_s2c) {
        Qot_GetUserSecurityGroup::S2C* s2c = rsp.mutable_s2c();
        for (std::size_t i = 0; i < r->group_count; ++i) {
            Qot_GetUserSecurityGroup::GroupData* g = s2c->add_grouplist();
            g->set_groupname(safe_str(r->groups[i].group_name));
            g->set_grouptype(r->groups[i].group_type);
        }
    }
}

} // namespace detail
} // namespace ftapi

/* ---------------------------------------------------------------------------------
 * The official C++ SDK shape.
 * ------------------------------------------------------------------------------- */
namespace Futu {

typedef std::int8_t i8_t;
typedef std::uint8_t u8_t;
typedef std::int16_t i16_t;
typedef std::uint16_t u16_t;
typedef std::int32_t i32_t;
typedef std::uint32_t u32_t;
typedef std::int64_t i64_t;
typedef std::uint64_t u64_t;

class FTAPI_Conn;
class FTAPI_Qot;

/* Connection callbacks. Default bodies do nothing (override what you need). */
class FTSPI_Conn {
public:
    virtual ~FTSPI_Conn() {}
    /* nErrCode 0 = connected; else high 32 bits ConnectFailType or FTAPI_InitFail (100). */
    virtual void OnInitConnect(FTAPI_Conn* pConn, i64_t nErrCode, const char* strDesc) {
        (void)pConn; (void)nErrCode; (void)strDesc;
    }
    /* nErrCode 0 after Close(); else ConnectFailType << 32 | OS error. */
    virtual void OnDisConnect(FTAPI_Conn* pConn, i64_t nErrCode) {
        (void)pConn; (void)nErrCode;
    }
    /* Extension (not in the official SDK): the connection's state changed to nState
     * (FTAPI_STATE_*: CONNECTING 0, INITIALIZING 1, READY 2, CLOSING 3, CLOSED 4,
     * RECONNECTING 5) because of szReason. Runs on the I/O thread, in order. */
    virtual void OnStateChange(FTAPI_Conn* pConn, i32_t nState, const char* szReason) {
        (void)pConn; (void)nState; (void)szReason;
    }
};

/* Quote callbacks. As in the official C++ SDK they get no connection pointer. */
class FTSPI_Qot {
public:
    virtual ~FTSPI_Qot() {}
    /* The one outcome of GetUserSecurityGroup: rettype() 0 (OpenD's data), -1 (OpenD
     * refused), -100 (timeout), -200 (disconnected) or -500 (unparsable). */
    virtual void OnReply_GetUserSecurityGroup(u32_t nSerialNo,
                                              const Qot_GetUserSecurityGroup::Response& stRsp) {
        (void)nSerialNo; (void)stRsp;
    }
};

/* Trade callbacks: trading is not implemented; present so the official samples, which
 * derive from it, build unchanged. */
class FTSPI_Trd {
public:
    virtual ~FTSPI_Trd() {}
};

/* ConnectFailType, InitFailType and FTAPI_ReqReplyType from the official SDK. */
enum ConnectFailType {
    ConnectFailType_Unknow = -1,
    ConnectFailType_None = 0,
    ConnectFailType_CreateFailed = 1,
    ConnectFailType_CloseFailed = 2,
    ConnectFailType_ShutdownFailed = 3,
    ConnectFailType_GetHostByNameFailed = 4,
    ConnectFailType_GetHostByNameWrong = 5,
    ConnectFailType_ConnectFailed = 6,
    ConnectFailType_BindFailed = 7,
    ConnectFailType_ListenFailed = 8,
    ConnectFailType_SelectReturnError = 9,
    ConnectFailType_SendFailed = 10,
    ConnectFailType_RecvFailed = 11
};
enum InitFailType {
    InitFailType_Unknow = 0,
    InitFailType_Timeout = 1,
    InitFailType_DisConnect = 3,
    InitFailType_SeriaNoNotMatch = 4,
    InitFailType_SendInitReqFailed = 4,
    InitFailType_OpenDReject = 5
};
enum FTAPI_ReqReplyType {
    FTAPI_ReqReplyType_SvrReply = 0,
    FTAPI_ReqReplyType_Timeout = -100,
    FTAPI_ReqReplyType_DisConnect = -200,
    /* Extension: refused by the client-side rate limiter (nothing was sent). */
    FTAPI_ReqReplyType_RateLimited = -300
};

/* One connection to OpenD. Owns its libftapi object; not copyable. */
class FTAPI_Conn {
public:
    virtual ~FTAPI_Conn() {
        /* Detach the callbacks first: when this returns (outside a callback) none runs,
         * and none can run afterwards. Then close and free the connection. */
        ftapi_qot_set_state_callback(m_handle, nullptr, nullptr, nullptr);
        ftapi_qot_set_spi(m_handle, nullptr);
        ftapi_qot_free(m_handle);
    }
    FTAPI_Conn(const FTAPI_Conn&) = delete;
    FTAPI_Conn& operator=(const FTAPI_Conn&) = delete;

    void SetClientInfo(const char* szClientID, i32_t nClientVer) {
        ftapi_qot_set_client_info(m_handle, szClientID, nClientVer);
    }
    /* PEM text of the 1024-bit RSA key shared with OpenD (needed for encryption). */
    void SetRSAPrivateKey(const char* szRSAPrivateKey) {
        ftapi_qot_set_rsa_private_key(m_handle, szRSAPrivateKey);
    }
    /* Returns whether the connect started; the outcome arrives in OnInitConnect. */
    bool InitConnect(const char* szIPAddr, u16_t nPort, bool bEnableEncrypt) {
        return ftapi_qot_init_connect(m_handle, szIPAddr, nPort, bEnableEncrypt ? 1 : 0) ==
               FTAPI_OK;
    }
    /* An addition: connects through OpenD's WebSocket port (the one the official
     * JavaScript SDK uses), ws:// or wss:// (bSSL), with OpenD's WebSocket key (NULL or ""
     * for none; only its MD5 is sent). Everything else works as after InitConnect. */
    bool InitConnectWebSocket(const char* szIPAddr, u16_t nPort, bool bSSL, const char* szKey) {
        return ftapi_qot_init_connect_ws(m_handle, szIPAddr, nPort, bSSL ? 1 : 0, szKey) ==
               FTAPI_OK;
    }
    /* An addition: trusts the CA certificates of a PEM file for wss:// (besides the
     * system's); NULL or "" clears them. False if the file cannot be used. */
    bool SetTlsCaFile(const char* szPath) {
        return ftapi_qot_set_tls_ca_file(m_handle, szPath) == FTAPI_OK;
    }
    /* The ID OpenD assigned in InitConnect; 0 before. */
    u64_t GetConnectID() { return ftapi_qot_get_connect_id(m_handle); }
    /* Closes the connection: pending requests get -200, then OnDisConnect(0). Outside a
     * callback it returns after all of that. */
    bool Close() { return ftapi_qot_close(m_handle) == FTAPI_OK; }

    /* The SPI must stay alive while registered. */
    void RegisterConnSpi(FTSPI_Conn* pSpi) { m_connSpi.store(pSpi); Rebind(); }
    /* After this returns (outside a callback) the old SPI may be destroyed. */
    void UnregisterConnSpi() { m_connSpi.store(nullptr); Rebind(); }

    /* Extensions (not in the official SDK). */
    /* Per-request timeout for connections started after this call (0 = default 12 s). */
    void SetRequestTimeout(u32_t nTimeoutMs) { ftapi_qot_set_request_timeout(m_handle, nTimeoutMs); }
    void SetProgrammingLanguage(const char* szLang) {
        ftapi_qot_set_programming_language(m_handle, szLang);
    }
    /* FTAPI_STATE_* (changes also arrive in FTSPI_Conn::OnStateChange). */
    i32_t GetState() const { return ftapi_qot_get_state(m_handle); }
    /* OpenD's serverVer from InitConnect (e.g. 903); 0 before. */
    i32_t GetServerVer() const { return ftapi_qot_get_server_ver(m_handle); }
    /* Client-side rate limiter, for connections started after the call.
     * nMode: FTAPI_RATE_LIMIT_OFF, FTAPI_RATE_LIMIT_FAIL_FAST (default: the request's
     * reply comes at once with rettype() FTAPI_ReqReplyType_RateLimited, -300) or
     * FTAPI_RATE_LIMIT_WAIT (held until a slot frees, within its timeout). */
    bool SetRateLimitMode(i32_t nMode) {
        return ftapi_qot_set_rate_limit_mode(m_handle, nMode) == FTAPI_OK;
    }
    /* At most nMax requests of nProtoID per sliding nWindowMs (nMax 0 removes the
     * quota; default 3222: 10 per 30 000 ms). */
    bool SetRateLimit(u32_t nProtoID, u32_t nMax, u32_t nWindowMs) {
        return ftapi_qot_set_rate_limit(m_handle, nProtoID, nMax, nWindowMs) == FTAPI_OK;
    }
    /* Auto-reconnect after an unexpected disconnect (off by default): OnDisConnect runs
     * as usual, then the library reconnects with backoff (0 = defaults 500 / 30 000 ms)
     * and calls OnInitConnect(0) again with a new connection ID. While reconnecting,
     * requests fail (GetUserSecurityGroup returns 0) or, with bQueueWhileReconnecting,
     * wait for the connection within their timeout. */
    bool SetAutoReconnect(bool bEnable, u32_t nInitialMs = 0, u32_t nMaxMs = 0,
                          bool bQueueWhileReconnecting = false) {
        return ftapi_qot_set_auto_reconnect(m_handle, bEnable ? 1 : 0, nInitialMs, nMaxMs,
                                            bQueueWhileReconnecting ? 1 : 0) == FTAPI_OK;
    }
    /* Silence watchdog in ms (default 33 000, 0 off). */
    bool SetSilenceTimeout(u32_t nTimeoutMs) {
        return ftapi_qot_set_silence_timeout(m_handle, nTimeoutMs) == FTAPI_OK;
    }
    /* Connect timeout, largest frame body, send-buffer limit (0 keeps a default). */
    bool SetLimits(u32_t nConnectTimeoutMs, std::size_t nMaxBodyLen, std::size_t nSendBufferLimit) {
        return ftapi_qot_set_limits(m_handle, nConnectTimeoutMs, nMaxBodyLen, nSendBufferLimit) ==
               FTAPI_OK;
    }
    /* Blocks until InitConnect finished (at most nTimeoutMs, 0 = no limit); true when
     * it finished, with its err_code (0 = connected) in *pErrCode. Not in a callback. */
    bool WaitInit(u32_t nTimeoutMs, i64_t* pErrCode = nullptr) {
        int64_t err = -1;
        const bool done = ftapi_qot_wait_init(m_handle, nTimeoutMs, &err) == FTAPI_OK;
        if (pErrCode != nullptr) *pErrCode = err;
        return done;
    }
    /* The underlying C object, for the rest of the C ABI (ftapi_qot_send_proto, ...). */
    FtapiQot* GetHandle() const { return m_handle; }

protected:
    FTAPI_Conn() : m_handle(ftapi_qot_new()), m_connSpi(nullptr), m_qotSpi(nullptr) {
        if (m_handle == nullptr) throw std::bad_alloc();
        ftapi_qot_set_programming_language(m_handle, "C++");
        ftapi_qot_set_state_callback(m_handle, &FTAPI_Conn::TrampState, this, nullptr);
        Rebind();
    }

    /* (Re)installs the callback table. ftapi_qot_set_spi returns only when no callback
     * of the previous table runs any more, which makes it the barrier Unregister*
     * needs; the SPI pointers themselves are read atomically by the trampolines. */
    void Rebind() {
        FtapiQotSpi spi;
        spi.user_data = this;
        spi.on_init_connect = &FTAPI_Conn::TrampInitConnect;
        spi.on_disconnect = &FTAPI_Conn::TrampDisconnect;
        spi.on_reply_get_user_security_group = &FTAPI_Conn::TrampUserSecurityGroup;
        spi.on_reply = nullptr;
        spi.on_push = nullptr;
        spi.free_user_data = nullptr;
        ftapi_qot_set_spi(m_handle, &spi);
    }

    FtapiQot* m_handle;
    std::atomic<FTSPI_Conn*> m_connSpi;
    std::atomic<FTSPI_Qot*> m_qotSpi;

private:
    /* Trampolines never touch `self` after the user's callback returned: the callback
     * may have released this object. */
    static void TrampInitConnect(void* ud, FtapiQot*, int64_t err, const char* desc) noexcept {
        FTAPI_Conn* self = static_cast<FTAPI_Conn*>(ud);
        FTSPI_Conn* spi = self->m_connSpi.load();
        if (spi == nullptr) return;
        try {
            spi->OnInitConnect(self, err, ftapi::detail::safe_str(desc));
        } catch (...) {
            ftapi::detail::report_callback_exception("OnInitConnect");
        }
    }
    static void TrampDisconnect(void* ud, FtapiQot*, int64_t err, const char*) noexcept {
        FTAPI_Conn* self = static_cast<FTAPI_Conn*>(ud);
        FTSPI_Conn* spi = self->m_connSpi.load();
        if (spi == nullptr) return;
        try {
            spi->OnDisConnect(self, err);
        } catch (...) {
            ftapi::detail::report_callback_exception("OnDisConnect");
        }
    }
    static void TrampState(void* ud, FtapiQot*, int32_t state, const char* reason) noexcept {
        FTAPI_Conn* self = static_cast<FTAPI_Conn*>(ud);
        FTSPI_Conn* spi = self->m_connSpi.load();
        if (spi == nullptr) return;
        try {
            spi->OnStateChange(self, state, ftapi::detail::safe_str(reason));
        } catch (...) {
            ftapi::detail::report_callback_exception("OnStateChange");
        }
    }
    static void TrampUserSecurityGroup(void* ud, FtapiQot*, uint32_t serial,
                                       const FtapiUserSecurityGroupReply* reply) noexcept {
        FTAPI_Conn* self = static_cast<FTAPI_Conn*>(ud);
        FTSPI_Qot* spi = self->m_qotSpi.load();
        if (spi == nullptr || reply == nullptr) return;
        try {
            Qot_GetUserSecurityGroup::Response rsp;
            ftapi::detail::fill_response(reply, rsp);
            spi->OnReply_GetUserSecurityGroup(serial, rsp);
        } catch (...) {
            ftapi::detail::report_callback_exception("OnReply_GetUserSecurityGroup");
        }
    }
};

/* The quote connection. */
class FTAPI_Qot : public FTAPI_Conn {
public:
    FTAPI_Qot() {}

    /* The SPI must stay alive while registered. */
    void RegisterQotSpi(FTSPI_Qot* pSpi) { m_qotSpi.store(pSpi); Rebind(); }
    /* After this returns (outside a callback) the old SPI may be destroyed. */
    void UnregisterQotSpi() { m_qotSpi.store(nullptr); Rebind(); }

    /* Sends Get Groups From Watchlist (3222). Returns the serial number, 0 when nothing
     * was sent (request incomplete, bad group type, not connected, ...). */
    u32_t GetUserSecurityGroup(const Qot_GetUserSecurityGroup::Request& stReq) {
        if (!stReq.IsInitialized()) return 0;
        uint32_t serial = 0;
#ifdef FTAPI_WITH_PROTOBUF
        std::string bytes;
        if (!stReq.SerializeToString(&bytes)) return 0;
        if (ftapi_qot_get_user_security_group_pb(
                m_handle, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                &serial) != FTAPI_OK) {
            return 0;
        }
#else
        if (ftapi_qot_get_user_security_group(m_handle, stReq.c2s().grouptype(), &serial) !=
            FTAPI_OK) {
            return 0;
        }
#endif
        return serial;
    }
};

/* Process-wide entry points, as in the official SDK. */
class FTAPI {
public:
    /* Nothing to set up: the library initialises itself. Kept for the official shape. */
    static void Init() {}
    /* The library's exit policy (ftapi_close_all): closes every connection still open,
     * each pending request getting its outcome, then OnDisConnect; returns when all have
     * finished. The objects stay valid until ReleaseQotApi. */
    static void UnInit() { ftapi_close_all(); }
    static FTAPI_Qot* CreateQotApi() { return new FTAPI_Qot(); }
    /* Closes and frees the connection (no callback runs after this returns outside a
     * callback). NULL is a no-op. */
    static void ReleaseQotApi(FTAPI_Qot* pQot) { delete pQot; }
};

} // namespace Futu

/* moomoo branding: the same classes under their moomoo names (aliases, not copies). */
namespace moomoo {
using Futu::i8_t;
using Futu::u8_t;
using Futu::i16_t;
using Futu::u16_t;
using Futu::i32_t;
using Futu::u32_t;
using Futu::i64_t;
using Futu::u64_t;
typedef Futu::FTAPI MMAPI;
typedef Futu::FTAPI_Conn MMAPI_Conn;
typedef Futu::FTAPI_Qot MMAPI_Qot;
typedef Futu::FTSPI_Conn MMSPI_Conn;
typedef Futu::FTSPI_Qot MMSPI_Qot;
typedef Futu::FTSPI_Trd MMSPI_Trd;
} // namespace moomoo

/* ---------------------------------------------------------------------------------
 * Modern RAII API.
 * ------------------------------------------------------------------------------- */
namespace ftapi {

/* A failed call (the C function's FtapiResult). */
class Error : public std::runtime_error {
public:
    explicit Error(FtapiResult code)
        : std::runtime_error(ftapi_result_message(static_cast<int32_t>(code))), code_(code) {}
    FtapiResult code() const noexcept { return code_; }

private:
    FtapiResult code_;
};

inline void check(FtapiResult r) {
    if (r != FTAPI_OK) throw Error(r);
}

enum class GroupType : std::int32_t { Custom = 1, System = 2, All = 3 };

/* Connection state (FTAPI_STATE_*). */
enum class State : std::int32_t {
    Connecting = FTAPI_STATE_CONNECTING,
    Initializing = FTAPI_STATE_INITIALIZING,
    Ready = FTAPI_STATE_READY,
    Closing = FTAPI_STATE_CLOSING,
    Closed = FTAPI_STATE_CLOSED,
    Reconnecting = FTAPI_STATE_RECONNECTING
};

inline const char* to_string(State s) noexcept {
    switch (s) {
    case State::Connecting: return "connecting";
    case State::Initializing: return "initializing";
    case State::Ready: return "ready";
    case State::Closing: return "closing";
    case State::Closed: return "closed";
    case State::Reconnecting: return "reconnecting";
    }
    return "unknown";
}

/* Client-side rate limiter mode (FTAPI_RATE_LIMIT_*). */
enum class RateLimitMode : std::int32_t {
    Off = FTAPI_RATE_LIMIT_OFF,
    FailFast = FTAPI_RATE_LIMIT_FAIL_FAST,
    Wait = FTAPI_RATE_LIMIT_WAIT
};

/* ret_type of a request the rate limiter refused (fail-fast mode). */
constexpr std::int32_t kReplyRateLimited = FTAPI_REPLY_RATE_LIMITED;

/* Log level (FTAPI_LOG_*). */
enum class LogLevel : std::int32_t {
    Off = FTAPI_LOG_OFF,
    Error = FTAPI_LOG_ERROR,
    Warn = FTAPI_LOG_WARN,
    Info = FTAPI_LOG_INFO,
    Debug = FTAPI_LOG_DEBUG,
    Trace = FTAPI_LOG_TRACE
};

/* Auto-reconnect settings (see ftapi_qot_set_auto_reconnect). */
struct ReconnectOptions {
    bool enable = true;
    std::uint32_t initial_ms = 0; /* 0: 500 */
    std::uint32_t max_ms = 0;     /* 0: 30 000 */
    bool queue_while_reconnecting = false;
};

using LogHandler = std::function<void(LogLevel level, const std::string& target, const std::string& message)>;

namespace detail {
inline void log_tramp(void* ud, int32_t level, const char* target, const char* message) noexcept {
    LogHandler* h = static_cast<LogHandler*>(ud);
    try {
        (*h)(static_cast<LogLevel>(level), safe_str(target), safe_str(message));
    } catch (...) {
        report_callback_exception("log callback");
    }
}
inline void log_free(void* ud) noexcept { delete static_cast<LogHandler*>(ud); }
} // namespace detail

/* Sends the library's log lines (process-wide) up to max_level to handler, which runs
 * on whichever thread logs (calls may overlap across connections) and must not throw
 * (exceptions are caught and reported on stderr). At Debug there is one line per packet
 * ("send proto=3222 serial=2 len=4", "recv proto=3222 ... latency_us=85"); key
 * material never appears. An empty handler goes back to stderr at $FTAPI_LOG. The
 * previous handler is destroyed once no call can see it any more. */
inline void set_log_callback(LogHandler handler, LogLevel max_level = LogLevel::Debug) {
    if (!handler) {
        ftapi_set_log_callback(nullptr, nullptr, nullptr, 0);
        return;
    }
    LogHandler* h = new LogHandler(std::move(handler));
    ftapi_set_log_callback(&detail::log_tramp, h, &detail::log_free,
                           static_cast<std::int32_t>(max_level));
}
/* The same, in the official SDK's naming style. */
inline void SetLogCallback(LogHandler handler, LogLevel max_level = LogLevel::Debug) {
    set_log_callback(std::move(handler), max_level);
}
/* Back to stderr at $FTAPI_LOG. */
inline void clear_log_callback() { ftapi_set_log_callback(nullptr, nullptr, nullptr, 0); }

struct Group {
    std::string name;
    std::int32_t type;
};

/* An owned copy of a GetUserSecurityGroup outcome. */
struct GroupsReply {
    std::int32_t ret_type = -400;
    std::string ret_msg;
    std::int32_t err_code = 0;
    std::vector<Group> groups;
    std::string pb; /* serialized Qot_GetUserSecurityGroup.Response */
    /* Whether the reply carried retMsg / errCode / s2c (ret_msg "" and err_code 0 when not). */
    bool has_ret_msg = false;
    bool has_err_code = false;
    bool has_s2c = false;
    bool ok() const noexcept { return ret_type == 0; }

    static GroupsReply from(const FtapiUserSecurityGroupReply& r) {
        GroupsReply out;
        out.ret_type = r.ret_type;
        out.ret_msg = detail::safe_str(r.ret_msg);
        out.err_code = r.err_code;
        out.has_ret_msg = r.has_ret_msg != 0;
        out.has_err_code = r.has_err_code != 0;
        out.has_s2c = r.has_s2c != 0;
        out.groups.reserve(r.group_count);
        for (std::size_t i = 0; i < r.group_count; ++i)
            out.groups.push_back(Group{detail::safe_str(r.groups[i].group_name), r.groups[i].group_type});
        if (r.pb != nullptr) out.pb.assign(reinterpret_cast<const char*>(r.pb), r.pb_len);
        return out;
    }
};

class Qot {
public:
    using InitConnectHandler = std::function<void(Qot&, std::int64_t err_code, const std::string& desc)>;
    using DisconnectHandler = std::function<void(Qot&, std::int64_t err_code, const std::string& reason)>;
    using GroupsHandler = std::function<void(Qot&, std::uint32_t serial, const GroupsReply& reply)>;
    using StateHandler = std::function<void(Qot&, State state, const std::string& reason)>;

    Qot() : handle_(ftapi_qot_new()) {
        if (handle_ == nullptr) throw std::bad_alloc();
        ftapi_qot_set_programming_language(handle_, "C++");
    }
    /* Detaches the handlers (none runs after this, unless destroyed inside one), then
     * closes and frees the connection. */
    ~Qot() {
        ftapi_qot_set_state_callback(handle_, nullptr, nullptr, nullptr);
        ftapi_qot_set_spi(handle_, nullptr);
        ftapi_qot_free(handle_);
    }
    Qot(const Qot&) = delete;
    Qot& operator=(const Qot&) = delete;

    /* Handler setters install a new callback table; when one returns (outside a
     * callback) the previous handlers have finished and are destroyed. */
    Qot& on_init_connect(InitConnectHandler h) { return update([&](Handlers& x) { x.init = std::move(h); }); }
    Qot& on_disconnect(DisconnectHandler h) { return update([&](Handlers& x) { x.disc = std::move(h); }); }
    Qot& on_groups(GroupsHandler h) { return update([&](Handlers& x) { x.groups = std::move(h); }); }

    void set_client_info(const std::string& id, std::int32_t ver) {
        check(ftapi_qot_set_client_info(handle_, id.c_str(), ver));
    }
    void set_rsa_private_key(const std::string& pem) {
        check(ftapi_qot_set_rsa_private_key(handle_, pem.c_str()));
    }
    void set_request_timeout(std::uint32_t ms) { check(ftapi_qot_set_request_timeout(handle_, ms)); }

    /* State changes, in order, on the I/O thread (an empty handler removes it). When
     * this returns (outside a callback) the previous handler has finished. */
    Qot& on_state_change(StateHandler h) {
        if (!h) {
            check(ftapi_qot_set_state_callback(handle_, nullptr, nullptr, nullptr));
            return *this;
        }
        std::unique_ptr<StateBox> box(new StateBox{this, std::move(h)});
        check(ftapi_qot_set_state_callback(handle_, &Qot::tramp_state, box.get(), &Qot::free_state));
        box.release();
        return *this;
    }
    /* Client-side rate limiter (for connections started after the call). */
    void set_rate_limit_mode(RateLimitMode mode) {
        check(ftapi_qot_set_rate_limit_mode(handle_, static_cast<std::int32_t>(mode)));
    }
    /* At most max requests of proto_id per sliding window_ms; max 0 removes the quota. */
    void set_rate_limit(std::uint32_t proto_id, std::uint32_t max, std::uint32_t window_ms) {
        check(ftapi_qot_set_rate_limit(handle_, proto_id, max, window_ms));
    }
    void set_auto_reconnect(const ReconnectOptions& o) {
        check(ftapi_qot_set_auto_reconnect(handle_, o.enable ? 1 : 0, o.initial_ms, o.max_ms,
                                           o.queue_while_reconnecting ? 1 : 0));
    }
    void set_auto_reconnect(bool enable) {
        ReconnectOptions o;
        o.enable = enable;
        set_auto_reconnect(o);
    }
    void set_silence_timeout(std::uint32_t ms) { check(ftapi_qot_set_silence_timeout(handle_, ms)); }
    void set_limits(std::uint32_t connect_timeout_ms, std::size_t max_body_len, std::size_t send_buffer_limit) {
        check(ftapi_qot_set_limits(handle_, connect_timeout_ms, max_body_len, send_buffer_limit));
    }
    /* Blocks until InitConnect finished (0 = no limit) and returns its err_code (0 =
     * connected). Throws Error (FTAPI_ERR_TIMEOUT, FTAPI_ERR_NOT_READY, ...). */
    std::int64_t wait_init(std::uint32_t timeout_ms = 0) {
        std::int64_t err = -1;
        check(ftapi_qot_wait_init(handle_, timeout_ms, &err));
        return err;
    }

    /* Starts connecting; the outcome arrives in on_init_connect. Throws ftapi::Error. */
    void connect(const std::string& host, std::uint16_t port, bool encrypt = false) {
        check(ftapi_qot_init_connect(handle_, host.c_str(), port, encrypt ? 1 : 0));
    }
    /* As connect, through OpenD's WebSocket port: ws://, or wss:// when tls; key is
     * OpenD's WebSocket key ("" for none). Throws ftapi::Error. */
    void connect_ws(const std::string& host, std::uint16_t port, bool tls = false,
                    const std::string& key = std::string()) {
        check(ftapi_qot_init_connect_ws(handle_, host.c_str(), port, tls ? 1 : 0, key.c_str()));
    }
    /* CA certificates (a PEM file) trusted for wss:// besides the system's; "" clears.
     * Throws ftapi::Error (FTAPI_ERR_BAD_CA_FILE). */
    void set_tls_ca_file(const std::string& path) {
        check(ftapi_qot_set_tls_ca_file(handle_, path.c_str()));
    }
    /* Sends 3222; the outcome arrives in on_groups. Returns the serial number. */
    std::uint32_t get_user_security_group(GroupType type) {
        std::uint32_t serial = 0;
        check(ftapi_qot_get_user_security_group(handle_, static_cast<std::int32_t>(type), &serial));
        return serial;
    }
    /* Blocking 3222 (not from inside a handler: throws Error FTAPI_ERR_IN_CALLBACK). */
    GroupsReply get_user_security_group_sync(GroupType type, std::uint32_t timeout_ms = 0) {
        FtapiUserSecurityGroupReply* raw = nullptr;
        check(ftapi_qot_get_user_security_group_sync(handle_, static_cast<std::int32_t>(type),
                                                     timeout_ms, &raw));
        std::unique_ptr<FtapiUserSecurityGroupReply, void (*)(FtapiUserSecurityGroupReply*)> owned(
            raw, &ftapi_user_security_group_reply_free);
        return GroupsReply::from(*owned);
    }
    void close() { check(ftapi_qot_close(handle_)); }
    std::uint64_t connect_id() const noexcept { return ftapi_qot_get_connect_id(handle_); }
    State state() const noexcept { return static_cast<State>(ftapi_qot_get_state(handle_)); }
    std::int32_t server_ver() const noexcept { return ftapi_qot_get_server_ver(handle_); }
    FtapiQot* handle() const noexcept { return handle_; }

private:
    struct Handlers {
        Qot* owner = nullptr;
        InitConnectHandler init;
        DisconnectHandler disc;
        GroupsHandler groups;
    };

    template <class F>
    Qot& update(F&& change) {
        std::unique_ptr<Handlers> fresh;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            change(current_);
            current_.owner = this;
            fresh.reset(new Handlers(current_));
        }
        FtapiQotSpi spi;
        spi.user_data = fresh.get();
        spi.on_init_connect = &Qot::tramp_init;
        spi.on_disconnect = &Qot::tramp_disc;
        spi.on_reply_get_user_security_group = &Qot::tramp_groups;
        spi.on_reply = nullptr;
        spi.on_push = nullptr;
        spi.free_user_data = &Qot::free_handlers;
        if (ftapi_qot_set_spi(handle_, &spi) == FTAPI_OK) fresh.release();
        return *this;
    }

    struct StateBox {
        Qot* owner;
        StateHandler fn;
    };
    static void free_state(void* ud) noexcept { delete static_cast<StateBox*>(ud); }
    static void tramp_state(void* ud, FtapiQot*, int32_t state, const char* reason) noexcept {
        StateBox* b = static_cast<StateBox*>(ud);
        try {
            b->fn(*b->owner, static_cast<State>(state), detail::safe_str(reason));
        } catch (...) {
            detail::report_callback_exception("on_state_change");
        }
    }
    static void free_handlers(void* ud) noexcept { delete static_cast<Handlers*>(ud); }
    static void tramp_init(void* ud, FtapiQot*, int64_t err, const char* desc) noexcept {
        Handlers* h = static_cast<Handlers*>(ud);
        if (!h->init) return;
        try {
            h->init(*h->owner, err, detail::safe_str(desc));
        } catch (...) {
            detail::report_callback_exception("on_init_connect");
        }
    }
    static void tramp_disc(void* ud, FtapiQot*, int64_t err, const char* reason) noexcept {
        Handlers* h = static_cast<Handlers*>(ud);
        if (!h->disc) return;
        try {
            h->disc(*h->owner, err, detail::safe_str(reason));
        } catch (...) {
            detail::report_callback_exception("on_disconnect");
        }
    }
    static void tramp_groups(void* ud, FtapiQot*, uint32_t serial,
                             const FtapiUserSecurityGroupReply* r) noexcept {
        Handlers* h = static_cast<Handlers*>(ud);
        if (!h->groups || r == nullptr) return;
        try {
            h->groups(*h->owner, serial, GroupsReply::from(*r));
        } catch (...) {
            detail::report_callback_exception("on_groups");
        }
    }

    FtapiQot* handle_;
    std::mutex mutex_;
    Handlers current_;
};

} // namespace ftapi

#endif /* FTAPI_HPP */
