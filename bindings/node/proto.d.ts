// Declarations for `opend/proto`: the protos' enums (crates/proto/proto/*.proto).
export declare const Common: {
  readonly RetType: {
    readonly RetType_Succeed: 0;
    readonly RetType_Failed: -1;
    readonly RetType_TimeOut: -100;
    readonly RetType_DisConnect: -200;
    readonly RetType_Unknown: -400;
    readonly RetType_Invalid: -500;
  };
  readonly PacketEncAlgo: {
    readonly PacketEncAlgo_FTAES_ECB: 0;
    readonly PacketEncAlgo_None: -1;
    readonly PacketEncAlgo_AES_ECB: 1;
    readonly PacketEncAlgo_AES_CBC: 2;
  };
  readonly ProtoFmt: {
    readonly ProtoFmt_Protobuf: 0;
    readonly ProtoFmt_Json: 1;
  };
};
/** No enums in proto/Qot_Common.proto. */
export declare const Qot_Common: {};
export declare const Qot_GetUserSecurityGroup: {
  readonly GroupType: {
    readonly GroupType_Unknown: 0;
    readonly GroupType_Custom: 1;
    readonly GroupType_System: 2;
    readonly GroupType_All: 3;
  };
};
export declare const Notify: {
  readonly NotifyType: {
    readonly NotifyType_None: 0;
    readonly NotifyType_GtwEvent: 1;
    readonly NotifyType_ProgramStatus: 2;
    readonly NotifyType_ConnStatus: 3;
    readonly NotifyType_QotRight: 4;
    readonly NotifyType_APILevel: 5;
    readonly NotifyType_APIQuota: 6;
    readonly NotifyType_UsedQuota: 7;
  };
};
export declare const InitConnect: {};
export declare const InitWebSocket: {};
export declare const KeepAlive: {};
declare const proto: {
  Common: typeof Common;
  Qot_Common: typeof Qot_Common;
  Qot_GetUserSecurityGroup: typeof Qot_GetUserSecurityGroup;
  Notify: typeof Notify;
  InitConnect: typeof InitConnect;
  InitWebSocket: typeof InitWebSocket;
  KeepAlive: typeof KeepAlive;
};
export default proto;
