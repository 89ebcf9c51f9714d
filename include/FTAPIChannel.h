/*
 * FTAPIChannel.h: the official native channel of Futu / moomoo OpenD (the C entry points of
 * the official C++ SDK's core library), as exported by ftapi. Hand-written (not generated);
 * valid C99 and C++11. Link with -lFTAPIChannel (a second name for libftapi) or -lftapi.
 *
 * The function names, signatures, enums and the packed 44-byte header are the official
 * ones, so programs written against the official library (FTAPI4NET's native flavour loads
 * it with [DllImport("FTAPIChannel")], Go wrappers link it) run against ftapi unchanged.
 * Unlike the official header this one declares its types with <stdint.h>, not in
 * namespace Futu, so that C compiles it too. ftapi's own, richer C ABI is ftapi.h.
 *
 * Semantics (where the official library says nothing, this is what ftapi does):
 *  - FTAPIChannel_InitConnect returns 0 when the connect started; the outcome arrives in
 *    OnInitConnect (errCode 0, or the official code: FTAPI_InitFail << 32 | FTAPI_InitFailType,
 *    or FTAPI_ConnectFailType << 32 | errno). A non-zero return says why nothing started:
 *    1 NULL argument (or an unknown channel), 2 invalid UTF-8, 3 bad host or port, 7 the
 *    channel's connection is still live, 10 encryption asked for without an RSA key. Once the
 *    connection has ended (Close, a drop, a failed InitConnect) the channel may connect again.
 *  - FTAPIChannel_SendProto sends nDataLen bytes of a serialized Request and returns its
 *    serial number, or 0 when nothing was sent (not connected or InitConnect not done yet, a
 *    NULL or negative-length body, proto 1001). nProtoVer is accepted and not sent (every
 *    official SDK sends 0).
 *  - Every sent request gets exactly one OnReply: enReqReplyType FTAPI_ReqReplyType_SvrReply
 *    with OpenD's decrypted (plaintext) body, or _Timeout (no reply within 12 s) or
 *    _DisConnect (the connection ended first, also after Close or Release) with the request's
 *    own header and no body (pProtoData NULL, nDataLen 0). A header carries the proto ID, the
 *    serial number, the plaintext body length and the SHA-1 of the plaintext.
 *  - Callbacks run on the connection's I/O thread, never on the caller's, one at a time per
 *    channel; OnInitConnect comes before any OnReply, and every pending request has had its
 *    OnReply before OnDisConnect. Pointers passed to a callback are borrowed for the call.
 *  - A SetOn*Callback replaces one callback, also while connected: later events use the new
 *    one, and when it returns no call of the old one is running (unless it is called from
 *    inside a callback). NULL drops that event (requests still end, unseen).
 *  - OnDisConnect comes once for a connection whose InitConnect succeeded, when it ends:
 *    errCode FTAPI_ConnectFailType << 32 | errno (e.g. FTAPI_ConnectFailType_RecvFailed << 32
 *    when OpenD closed it), or 0 after the user's own Close or Release.
 *  - FTAPIChannel_Close returns 0 (non-zero for an unknown channel). From another thread it
 *    returns after every pending request had its _DisConnect reply and OnDisConnect ran; from
 *    inside a callback it returns at once and the rest follows when that callback returns.
 *  - ReleaseFTAPIChannel closes as Close does, then frees the channel; safe from any thread,
 *    also from inside one of the channel's callbacks (the remaining replies and OnDisConnect
 *    then follow after that callback returns, with the same channel pointer). A NULL, unknown
 *    or already released channel is refused everywhere: an error return, 0, or nothing, never
 *    a crash. The void setters ignore bad input (NULL, invalid UTF-8, a bad PEM key: the key
 *    is then removed) with a warning in the library's log (FTAPI_LOG=warn).
 *  - FTAPIChannel_Init and FTAPIChannel_UnInit have nothing to do (channels work without them
 *    and live until ReleaseFTAPIChannel).
 *  - As in the official library there is no client-side rate limiter, unless FTAPI_RATE_LIMIT
 *    is set in the environment (then a refused request's OnReply has type -300, no body).
 */
#ifndef FTAPICHANNEL_H
#define FTAPICHANNEL_H

#include <stdint.h>

#ifndef DllXPort_FTAPICHANNEL
#define DllXPort_FTAPICHANNEL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* FTAPI_ProtoHeader: the frame header, 1-byte packed, 44 bytes, integers in host byte order. */
#pragma pack(push, 1)
typedef struct FTAPI_ProtoHeader {
    uint8_t szHeaderFlag[2];  /* "FT" */
    uint32_t nProtoID;        /* proto ID */
    uint8_t nProtoFmtType;    /* FTAPI_ProtoFmtType_*: 0 protobuf */
    uint8_t nProtoVer;        /* 0 */
    uint32_t nSerialNo;       /* serial number */
    uint32_t nBodyLen;        /* plaintext body length */
    uint8_t arrBodySHA1[20];  /* SHA-1 of the plaintext body */
    uint8_t arrReserved[8];   /* zeros */
} FTAPI_ProtoHeader;
#pragma pack(pop)

#if defined(__cplusplus) && __cplusplus >= 201103L
static_assert(sizeof(FTAPI_ProtoHeader) == 44, "FTAPI_ProtoHeader must be 44 bytes");
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(FTAPI_ProtoHeader) == 44, "FTAPI_ProtoHeader must be 44 bytes");
#else
/* C99 (and C++98): an array of negative size if the layout is wrong. */
typedef char FTAPI_ProtoHeader_must_be_44_bytes[sizeof(FTAPI_ProtoHeader) == 44 ? 1 : -1];
#endif

#define FTAPI_ProtoFmtType_Protobuf 0
#define FTAPI_ProtoFmtType_Json 1

/* High 32 bits of an InitConnect failure code; the low 32 bits are an FTAPI_InitFailType. */
#define FTAPI_InitFail 100

typedef enum FTAPI_ReqReplyType {
    FTAPI_ReqReplyType_SvrReply = 0,     /* OpenD's reply */
    FTAPI_ReqReplyType_Timeout = -100,   /* no reply in time */
    FTAPI_ReqReplyType_DisConnect = -200 /* the connection ended first (also after Close) */
} FTAPI_ReqReplyType;

typedef enum FTAPI_InitFailType {
    FTAPI_InitFailType_Unknow = 0,
    FTAPI_InitFailType_Timeout = 1,
    FTAPI_InitFailType_DisConnect = 3,
    FTAPI_InitFailType_SeriaNoNotMatch = 4,
    FTAPI_InitFailType_SendInitReqFailed = 4, /* sic: the official value */
    FTAPI_InitFailType_OpenDReject = 5
} FTAPI_InitFailType;

typedef enum FTAPI_ConnectFailType {
    FTAPI_ConnectFailType_Unknown = -1,
    FTAPI_ConnectFailType_None = 0,
    FTAPI_ConnectFailType_CreateFailed = 1,
    FTAPI_ConnectFailType_CloseFailed = 2,
    FTAPI_ConnectFailType_ShutdownFailed = 3,
    FTAPI_ConnectFailType_GetHostByNameFailed = 4,
    FTAPI_ConnectFailType_GetHostByNameWrong = 5,
    FTAPI_ConnectFailType_ConnectFailed = 6,
    FTAPI_ConnectFailType_BindFailed = 7,
    FTAPI_ConnectFailType_ListenFailed = 8,
    FTAPI_ConnectFailType_SelectReturnError = 9,
    FTAPI_ConnectFailType_SendFailed = 10,
    FTAPI_ConnectFailType_RecvFailed = 11
} FTAPI_ConnectFailType;

typedef void *FTAPIChannelPtr;

typedef void (*FTAPIChannel_OnDisConnectCallback)(FTAPIChannelPtr pChannel, int64_t nErrCode);
typedef void (*FTAPIChannel_OnInitConnectCallback)(FTAPIChannelPtr pChannel, int64_t nErrCode,
                                                   const char *strDesc);
typedef void (*FTAPIChannel_OnReplyCallback)(FTAPIChannelPtr pChannel, FTAPI_ReqReplyType enReqReplyType,
                                             const FTAPI_ProtoHeader *pProtoHeader, const char *pProtoData,
                                             int32_t nDataLen);
typedef void (*FTAPIChannel_OnPushCallback)(FTAPIChannelPtr pChannel, const FTAPI_ProtoHeader *pProtoHeader,
                                            const char *pProtoData, int32_t nDataLen);

DllXPort_FTAPICHANNEL void FTAPIChannel_Init(void);
DllXPort_FTAPICHANNEL void FTAPIChannel_UnInit(void);
DllXPort_FTAPICHANNEL FTAPIChannelPtr CreateFTAPIChannel(void);
DllXPort_FTAPICHANNEL void ReleaseFTAPIChannel(FTAPIChannelPtr pChannel);

/* InitConnect's clientID and clientVer, for the next FTAPIChannel_InitConnect. */
DllXPort_FTAPICHANNEL void FTAPIChannel_SetClientInfo(FTAPIChannelPtr pChannel, const char *szClientID,
                                                      int32_t nClientVer);
/* The RSA private key (PEM text, PKCS#1 or PKCS#8, 1024 bits) shared with OpenD; "" removes it. */
DllXPort_FTAPICHANNEL void FTAPIChannel_SetRSAPrivateKey(FTAPIChannelPtr pChannel, const char *strRSAPrivateKey);
/* InitConnect's programmingLanguage (default "C"). */
DllXPort_FTAPICHANNEL void FTAPIChannel_SetProgrammingLanguage(FTAPIChannelPtr pChannel, const char *szLang);

/* 0: the connect started (outcome in OnInitConnect); otherwise nothing started. */
DllXPort_FTAPICHANNEL int32_t FTAPIChannel_InitConnect(FTAPIChannelPtr pChannel, const char *szIPAddr,
                                                       uint16_t nPort, int32_t nEnableEncrypt);
/* The connection ID from InitConnect; 0 before it. */
DllXPort_FTAPICHANNEL uint64_t FTAPIChannel_GetConnectID(FTAPIChannelPtr pChannel);
/* The request's serial number (its one outcome arrives in OnReply); 0: nothing was sent. */
DllXPort_FTAPICHANNEL uint32_t FTAPIChannel_SendProto(FTAPIChannelPtr pChannel, uint32_t nProtoID, uint8_t nProtoVer,
                                                      const char *pProtoData, int32_t nDataLen);
/* Ends the connection; 0 (non-zero for an unknown channel). */
DllXPort_FTAPICHANNEL int32_t FTAPIChannel_Close(FTAPIChannelPtr pChannel);

DllXPort_FTAPICHANNEL void FTAPIChannel_SetOnInitConnectCallback(FTAPIChannelPtr pChannel,
                                                                 FTAPIChannel_OnInitConnectCallback callback);
DllXPort_FTAPICHANNEL void FTAPIChannel_SetOnDisconnectCallback(FTAPIChannelPtr pChannel,
                                                                FTAPIChannel_OnDisConnectCallback callback);
DllXPort_FTAPICHANNEL void FTAPIChannel_SetOnReplyCallback(FTAPIChannelPtr pChannel,
                                                           FTAPIChannel_OnReplyCallback callback);
DllXPort_FTAPICHANNEL void FTAPIChannel_SetOnPushCallback(FTAPIChannelPtr pChannel,
                                                          FTAPIChannel_OnPushCallback callback);

#ifdef __cplusplus
}
#endif

#endif /* FTAPICHANNEL_H */
