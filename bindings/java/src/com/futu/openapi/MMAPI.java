package com.futu.openapi;

/** The moomoo name of {@link FTAPI}. */
public class MMAPI {
    public static void init() { FTAPI.init(); }
    public static void unInit() { FTAPI.unInit(); }
}
