package com.futu.openapi;

/** The JNI entry points of libftapi (src/jni). Connections are {@code long} handles. */
final class NativeLib {
    private NativeLib() {}

    static native long create();
    static native void free(long handle);
    static native void setClientInfo(long handle, String clientID, int clientVer);
    static native void setProgrammingLanguage(long handle, String lang);
    static native void setRsaPrivateKey(long handle, String pem);
    static native void setRequestTimeout(long handle, int ms);
    static native boolean initConnect(long handle, FTAPI_Conn target, String ip, int port, boolean encrypt);
    static native long getConnectID(long handle);
    static native int getState(long handle);
    static native void close(long handle);
    static native int getUserSecurityGroup(long handle, byte[] request);
    static native String version();
    static native int liveHandles();
}
