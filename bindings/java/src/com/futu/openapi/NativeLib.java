package com.futu.openapi;

/** The JNI entry points of libftapi (crates/capi/src/jni.rs). Connections are {@code long} handles. */
final class NativeLib {
    private NativeLib() {}

    static native long create();
    static native void free(long handle);
    static native void setClientInfo(long handle, String clientID, int clientVer);
    static native void setProgrammingLanguage(long handle, String lang);
    static native void setRsaPrivateKey(long handle, String pem);
    static native void setRequestTimeout(long handle, int ms);
    static native boolean initConnect(long handle, FTAPI_Conn target, String ip, int port, boolean encrypt);
    static native boolean initConnectWebSocket(long handle, FTAPI_Conn target, String ip, int port, boolean tls, String key);
    static native boolean setTlsCaFile(long handle, String path);
    static native long getConnectID(long handle);
    static native int getState(long handle);
    static native void close(long handle);
    static native int getUserSecurityGroup(long handle, byte[] request);
    static native int sendProto(long handle, int protoID, byte[] body, ProtoRequest request);
    static native void setRateLimitMode(long handle, int mode);
    static native void setRateLimit(long handle, int protoID, int max, int windowMs);
    static native void setAutoReconnect(long handle, boolean enable, int initialMs, int maxMs, boolean queue);
    static native void setSilenceTimeout(long handle, int ms);
    static native void setLimits(long handle, int connectTimeoutMs, long maxBodyLen, long sendBufferLimit);
    static native int getServerVer(long handle);
    static native long waitInit(long handle, int timeoutMs);
    static native void setLogSink(FTAPI.LogSink sink, int maxLevel);
    static native String version();
    static native int liveHandles();
    /** The library's exit policy (ftapi_close_all): closes every open connection. */
    static native void closeAll();
}
