// Plain C# versions of the Qot_GetUserSecurityGroup (proto 3222) messages, shaped like the
// protobuf-generated classes of the official C# SDK (builders, RetType, S2C.GroupListList), so
// the official sample compiles unchanged. Requests are encoded here (a tiny proto2 writer: real
// protobuf bytes); replies are never decoded here: the library has decoded them already, and
// FTAPI_Conn builds each Response from the C reply struct (ret_type, ret_msg, err_code, groups).
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Text;

namespace Futu.OpenApi.Pb
{
    /// <summary>Minimal proto2 wire writer (varint and length-delimited fields only).</summary>
    internal sealed class PbWriter
    {
        private readonly MemoryStream ms = new MemoryStream();

        public void WriteVarint(ulong v)
        {
            while (v >= 0x80) { ms.WriteByte((byte)(v | 0x80)); v >>= 7; }
            ms.WriteByte((byte)v);
        }

        public void WriteTag(int field, int wireType) { WriteVarint((ulong)((field << 3) | wireType)); }

        // int32 is sign-extended to 64 bits on the wire (negative values take 10 bytes).
        public void WriteInt32(int field, int v) { WriteTag(field, 0); WriteVarint((ulong)(long)v); }

        public void WriteBytes(int field, byte[] b)
        {
            WriteTag(field, 2); WriteVarint((ulong)b.Length); ms.Write(b, 0, b.Length);
        }

        public byte[] ToArray() { return ms.ToArray(); }
    }

    /// <summary>Get Groups From Watchlist (proto 3222). A class (not static) so that
    /// Moomoo.OpenApi.Pb.QotGetUserSecurityGroup can inherit its nested types.</summary>
    public class QotGetUserSecurityGroup
    {
        protected QotGetUserSecurityGroup() { }

        public const uint ProtoID = 3222;

        public enum GroupType
        {
            GroupType_Unknown = 0,
            GroupType_Custom = 1,
            GroupType_System = 2,
            GroupType_All = 3,
        }

        public sealed class C2S
        {
            private int groupType;
            private bool hasGroupType;
            private C2S() { }

            public static C2S DefaultInstance { get { return new C2S(); } }
            public bool HasGroupType { get { return hasGroupType; } }
            public int GroupType { get { return groupType; } }
            public bool IsInitialized { get { return hasGroupType; } }

            public static Builder CreateBuilder() { return new Builder(); }
            public static Builder CreateBuilder(C2S prototype) { return new Builder().MergeFrom(prototype); }
            public Builder ToBuilder() { return CreateBuilder(this); }

            public byte[] ToByteArray()
            {
                var w = new PbWriter();
                if (hasGroupType) w.WriteInt32(1, groupType);
                return w.ToArray();
            }

            public override string ToString() { return "{ groupType: " + groupType + " }"; }

            public sealed class Builder
            {
                private C2S m = new C2S();
                internal Builder() { }
                public bool HasGroupType { get { return m.hasGroupType; } }
                public int GroupType { get { return m.groupType; } }
                public Builder SetGroupType(int value) { m.groupType = value; m.hasGroupType = true; return this; }
                public Builder SetGroupType(QotGetUserSecurityGroup.GroupType value) { return SetGroupType((int)value); }
                public Builder ClearGroupType() { m.groupType = 0; m.hasGroupType = false; return this; }
                public Builder MergeFrom(C2S other)
                {
                    if (other.hasGroupType) SetGroupType(other.groupType);
                    return this;
                }
                public bool IsInitialized { get { return m.hasGroupType; } }
                public C2S Build()
                {
                    if (!m.hasGroupType) throw new InvalidOperationException("C2S.groupType is required");
                    return BuildPartial();
                }
                public C2S BuildPartial() { C2S r = m; m = new C2S(); r.CopyInto(m); return r; }
            }

            private void CopyInto(C2S other) { other.groupType = groupType; other.hasGroupType = hasGroupType; }
        }

        public sealed class Request
        {
            private C2S c2s;
            private Request() { }

            public static Request DefaultInstance { get { return new Request(); } }
            public bool HasC2S { get { return c2s != null; } }
            public C2S C2S { get { return c2s ?? C2S.DefaultInstance; } }
            public bool IsInitialized { get { return c2s != null && c2s.IsInitialized; } }

            public static Builder CreateBuilder() { return new Builder(); }
            public Builder ToBuilder() { return new Builder().MergeFrom(this); }

            public byte[] ToByteArray()
            {
                var w = new PbWriter();
                if (c2s != null) w.WriteBytes(1, c2s.ToByteArray());
                return w.ToArray();
            }

            public override string ToString() { return "{ c2s: " + (c2s == null ? "null" : c2s.ToString()) + " }"; }

            public sealed class Builder
            {
                private C2S c2s;
                internal Builder() { }
                public bool HasC2S { get { return c2s != null; } }
                public Builder SetC2S(C2S value)
                {
                    if (value == null) throw new ArgumentNullException("value");
                    c2s = value; return this;
                }
                public Builder SetC2S(C2S.Builder builder) { return SetC2S(builder.Build()); }
                public Builder ClearC2S() { c2s = null; return this; }
                public Builder MergeFrom(Request other) { if (other.c2s != null) c2s = other.c2s; return this; }
                public Request Build()
                {
                    if (c2s == null || !c2s.IsInitialized) throw new InvalidOperationException("Request.c2s is required");
                    return BuildPartial();
                }
                public Request BuildPartial() { var r = new Request(); r.c2s = c2s; return r; }
            }
        }

        public sealed class GroupData
        {
            private string groupName = "";
            private bool hasGroupName;
            private int groupType;
            private bool hasGroupType;
            private GroupData() { }

            public bool HasGroupName { get { return hasGroupName; } }
            public string GroupName { get { return groupName; } }
            public bool HasGroupType { get { return hasGroupType; } }
            public int GroupType { get { return groupType; } }

            public static Builder CreateBuilder() { return new Builder(); }

            public override string ToString()
            {
                return "{ groupName: \"" + groupName + "\", groupType: " + groupType + " }";
            }

            public sealed class Builder
            {
                private readonly GroupData m = new GroupData();
                internal Builder() { }
                public Builder SetGroupName(string v)
                {
                    if (v == null) throw new ArgumentNullException("v");
                    m.groupName = v; m.hasGroupName = true; return this;
                }
                public Builder SetGroupType(int v) { m.groupType = v; m.hasGroupType = true; return this; }
                public Builder SetGroupType(QotGetUserSecurityGroup.GroupType v) { return SetGroupType((int)v); }
                public GroupData Build()
                {
                    var r = new GroupData();
                    r.groupName = m.groupName; r.hasGroupName = m.hasGroupName;
                    r.groupType = m.groupType; r.hasGroupType = m.hasGroupType;
                    return r;
                }
            }
        }

        public sealed class S2C
        {
            private IList<GroupData> groupList = new ReadOnlyCollection<GroupData>(new GroupData[0]);
            private S2C() { }

            public static S2C DefaultInstance { get { return new S2C(); } }
            /// <summary>The groups, named as in the protobuf-generated code (repeated field + "List").</summary>
            public IList<GroupData> GroupListList { get { return groupList; } }
            public int GroupListCount { get { return groupList.Count; } }
            public GroupData GetGroupList(int index) { return groupList[index]; }

            public static Builder CreateBuilder() { return new Builder(); }

            public override string ToString()
            {
                var sb = new StringBuilder("{ groupList: [");
                for (int i = 0; i < groupList.Count; i++) sb.Append(i == 0 ? " " : ", ").Append(groupList[i]);
                return sb.Append(" ] }").ToString();
            }

            public sealed class Builder
            {
                private readonly List<GroupData> list = new List<GroupData>();
                internal Builder() { }
                public Builder AddGroupList(GroupData g)
                {
                    if (g == null) throw new ArgumentNullException("g");
                    list.Add(g); return this;
                }
                public Builder AddGroupList(GroupData.Builder b) { return AddGroupList(b.Build()); }
                public S2C Build() { var m = new S2C(); m.groupList = new List<GroupData>(list).AsReadOnly(); return m; }
            }
        }

        public sealed class Response
        {
            private int retType = -400;
            private bool hasRetType;
            private string retMsg = "";
            private bool hasRetMsg;
            private int errCode;
            private bool hasErrCode;
            private S2C s2c;
            private Response() { }

            public static Response DefaultInstance { get { return new Response(); } }
            public bool HasRetType { get { return hasRetType; } }
            /// <summary>0 success, -1 OpenD refused, -100 timeout, -200 disconnected, -300 rate limited locally, -400 unknown, -500 invalid.</summary>
            public int RetType { get { return retType; } }
            public bool HasRetMsg { get { return hasRetMsg; } }
            public string RetMsg { get { return retMsg; } }
            public bool HasErrCode { get { return hasErrCode; } }
            public int ErrCode { get { return errCode; } }
            public bool HasS2C { get { return s2c != null; } }
            public S2C S2C { get { return s2c ?? S2C.DefaultInstance; } }

            public static Builder CreateBuilder() { return new Builder(); }

            public override string ToString()
            {
                return "{ retType: " + retType + ", retMsg: \"" + retMsg + "\", errCode: " + errCode +
                       (s2c != null ? ", s2c: " + s2c : "") + " }";
            }

            public sealed class Builder
            {
                private readonly Response m = new Response();
                internal Builder() { }
                public Builder SetRetType(int v) { m.retType = v; m.hasRetType = true; return this; }
                public Builder SetRetMsg(string v)
                {
                    if (v == null) throw new ArgumentNullException("v");
                    m.retMsg = v; m.hasRetMsg = true; return this;
                }
                public Builder SetErrCode(int v) { m.errCode = v; m.hasErrCode = true; return this; }
                public Builder SetS2C(S2C v) { m.s2c = v; return this; }
                public Builder SetS2C(S2C.Builder b) { return SetS2C(b.Build()); }
                public Response Build()
                {
                    if (!m.hasRetType) throw new InvalidOperationException("Response.retType is required");
                    return BuildPartial();
                }
                public Response BuildPartial()
                {
                    var r = new Response();
                    r.retType = m.retType; r.hasRetType = m.hasRetType; r.retMsg = m.retMsg; r.hasRetMsg = m.hasRetMsg;
                    r.errCode = m.errCode; r.hasErrCode = m.hasErrCode; r.s2c = m.s2c;
                    return r;
                }
            }
        }
    }
}

namespace Moomoo.OpenApi.Pb
{
    /// <summary>The moomoo name of the same messages: nested types are inherited.</summary>
    public class QotGetUserSecurityGroup : Futu.OpenApi.Pb.QotGetUserSecurityGroup
    {
        protected QotGetUserSecurityGroup() { }
    }
}
