package com.futu.openapi;

/** The moomoo name of {@link FTAPI_Conn}: takes {@link MMSPI_Conn} listeners too. */
public class MMAPI_Conn extends FTAPI_Conn {
    private volatile MMSPI_Conn mmConnSpi;

    public void setConnSpi(MMSPI_Conn spi) {
        mmConnSpi = spi;
    }

    @Override
    void dispatchInitConnect(long errCode, String desc) {
        super.dispatchInitConnect(errCode, desc);
        MMSPI_Conn s = mmConnSpi;
        if (s == null) return;
        try { s.onInitConnect(this, errCode, desc); } catch (Throwable t) { report("onInitConnect", t); }
    }

    @Override
    void dispatchDisconnect(long errCode, String reason) {
        super.dispatchDisconnect(errCode, reason);
        MMSPI_Conn s = mmConnSpi;
        if (s == null) return;
        try { s.onDisconnect(this, errCode); } catch (Throwable t) { report("onDisconnect", t); }
    }
}
